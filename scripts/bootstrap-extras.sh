#!/usr/bin/env bash
# Prerequisites beyond the Python workspace: each step says what it does, is skipped when already
# satisfied, and under CI=true a failure fails the run (elsewhere the tests that need it skip
# loudly, saying what to install).
set -euo pipefail

# `make demo` needs nothing here (no browser, no peers, no helm): skip it all so a fresh machine
# reaches the demo in a minute or two. The Makefile passes its goals in LLMOBS_MAKE_GOALS.
if [ "${LLMOBS_MAKE_GOALS:-}" = "demo" ]; then
    exit 0
fi

cd "$(dirname "$0")/.."
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

# --- compatibility suite (tests/interop): one virtual environment per instrumentation family,
# from the locks in tests/interop/envs/, built once into $CACHE/interop (a minute or two each the
# first time, nothing when cached); the suite's session builds any still missing itself ---
echo "bootstrap: interop family environments (built if missing)"
.venv/bin/python -m tests.interop.venvs build || step_failed "building the interop family environments"

# --- store benchmark: the OpenTelemetry Collector (OTLP receiver into the nop exporter) that the
# store's ingest rate is compared with, built once from the pinned modules in benchmarks/store/otelcol
# into ~/.cache/llmobs/bin (4-5 CPU-minutes the first time); tests/benchmarks/store runs against it ---
if command -v go >/dev/null 2>&1; then
    echo "bootstrap: OpenTelemetry Collector for the store benchmark (built if missing)"
    nice .venv/bin/python benchmarks/store/_otelcol.py || step_failed "building the OpenTelemetry Collector"
else
    step_failed "the OpenTelemetry Collector (no go toolchain to build it)"
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

# --- web UI browser tests (tests/ui): Debian's chromium, driven by Playwright (never `playwright
# install`: the browser comes from the distribution, no download from a CDN) ---
if [ -x /usr/bin/chromium ]; then
    echo "bootstrap: chromium present (/usr/bin/chromium)"
else
    echo "bootstrap: installing Debian's chromium for the browser tests (apt-get install -y chromium)"
    if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo -n"; fi
    if ! { command -v apt-get >/dev/null 2>&1 && {
        $SUDO apt-get install -y --no-install-recommends chromium >/dev/null 2>&1 ||
            { $SUDO apt-get update >/dev/null 2>&1 &&
                $SUDO apt-get install -y --no-install-recommends chromium >/dev/null 2>&1; }; }; }; then
        step_failed "installing chromium (apt-get install -y chromium)"
    fi
fi

in_ci() { [[ "${CI:-}" =~ ^(1|true|yes)$ ]]; }

# --- e2e: the local Kubernetes control plane (etcd, Kubernetes 1.36, kwok, helm, kubectl), built
# from source with Go once per machine into $CACHE/bin (e2e/_binaries.py; it reuses the helm above).
if command -v go >/dev/null 2>&1; then
	printf '\033[1;34m==> %s\033[0m\n' "e2e control plane binaries (built only when missing)"
	if ! nice .venv/bin/python -m e2e._binaries >/dev/null; then
		echo "building the e2e control plane failed (see above)" >&2
		if in_ci; then exit 1; fi
	fi
elif in_ci; then
	echo "CI=true: the Go toolchain (>= 1.26) is required to build the e2e control plane" >&2
	exit 1
else
	printf '\033[1;33m%s\033[0m\n' \
		"WARNING: no Go toolchain: the e2e tests (a real Kubernetes control plane) will be SKIPPED." \
		"         Install Go >= 1.26 (https://go.dev/dl/) and re-run make test to include them." >&2
fi
exit 0
