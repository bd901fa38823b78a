#!/usr/bin/env bash
# Prerequisites beyond the Python workspace (later issues add theirs here): each step says what it
# does, is skipped when already satisfied, and under CI=true a failure fails the run.
set -euo pipefail

# llm-d-inference-sim: the third-party peer of the model-server simulator (tests/testing), built
# once into ~/.cache/llmobs/bin by llmobs_testing.peers (minutes the first time). Without Go it is
# skipped here, and the tests that need it fail under CI=true.
if command -v go >/dev/null 2>&1; then
    echo "llm-d-inference-sim: building if missing"
    if ! .venv/bin/python -c 'from llmobs_testing.peers import llm_d_sim_binary; print(llm_d_sim_binary())'; then
        echo "llm-d-inference-sim: build failed" >&2
        [ "${CI:-}" = "true" ] && exit 1
    fi
fi
exit 0
