"""Test prerequisites: skip loudly on a developer's machine, fail under ``CI=true``.

CI must never pass by skipping: a prerequisite missing there is a broken set-up, so this turns the
skip into a failure naming what is missing and how to get it.
"""

import os

import pytest


def in_ci() -> bool:
    """True when running under CI (``CI=true``), where nothing may be silently skipped."""
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def require(ok: bool, what: str, how: str = "") -> None:
    """Skip the calling test (fail it under CI) unless ``ok``; ``what`` names the prerequisite."""
    if ok:
        return
    message = f"missing prerequisite: {what}" + (f" ({how})" if how else "")
    if in_ci():
        pytest.fail(message + " — CI=true forbids skipping", pytrace=False)
    pytest.skip(message)
