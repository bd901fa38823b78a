#!/usr/bin/env bash
# Prerequisites beyond the Python workspace: each step says what it does, is skipped when already
# satisfied, and under CI=true a failure fails the run (elsewhere the tests that need it skip
# loudly, saying what to install).
set -euo pipefail

CACHE="${LLMOBS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/llmobs}"
step_failed() {  # $1: what failed
    if [ "${CI:-}" = "true" ]; then echo "bootstrap: $1 failed (CI=true: failing)" >&2; exit 1; fi
    echo "bootstrap: $1 failed; tests that need it will be skipped" >&2
}

# --- testing: llm-d-inference-sim, the third-party peer of the model-server simulator, built once
# into ~/.cache/llmobs/bin by llmobs_testing.peers (minutes the first time) ---
if command -v go >/dev/null 2>&1; then
    echo "bootstrap: llm-d-inference-sim (built if missing)"
    .venv/bin/python -c 'from llmobs_testing.peers import llm_d_sim_binary; print(llm_d_sim_binary())' \
        || step_failed "building llm-d-inference-sim"
else
    step_failed "llm-d-inference-sim (no go toolchain to build it)"
fi

# --- operator: helm (helm lint / helm template tests of charts/llmobs) ---
HELM_VERSION=v3.21.4
HELM_BIN="$CACHE/helm-$HELM_VERSION/helm"
if [ -x "$HELM_BIN" ]; then
    echo "bootstrap: helm $HELM_VERSION present ($HELM_BIN)"
elif command -v go >/dev/null 2>&1; then
    echo "bootstrap: building helm $HELM_VERSION with go (one-off, a few minutes) into $HELM_BIN"
    mkdir -p "$(dirname "$HELM_BIN")"
    if GOTOOLCHAIN=local CGO_ENABLED=0 GOBIN="$(dirname "$HELM_BIN")" \
        nice go install "helm.sh/helm/v3/cmd/helm@$HELM_VERSION"; then
        echo "bootstrap: helm built"
    else
        step_failed "building helm"
    fi
else
    step_failed "helm (no go toolchain to build it)"
fi

exit 0
