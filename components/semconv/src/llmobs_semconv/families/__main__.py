"""Print docs/conventions.md: ``python -m llmobs_semconv.families > docs/conventions.md``."""

import sys

from llmobs_semconv.families import FAMILIES
from llmobs_semconv.families._doc import render

sys.stdout.write(render(FAMILIES))
