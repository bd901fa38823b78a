#!/usr/bin/env bash
# Prerequisites beyond the Python workspace (later issues add theirs here): each step says what it
# does, is skipped when already satisfied, and under CI=true a failure fails the run.
set -euo pipefail
exit 0
