# The two commands a newcomer needs: `make demo` and `make test`. Both bootstrap everything
# they need from the project's own files (uv from PyPI when missing, then `uv sync --frozen`).
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

UV := $(shell command -v uv 2>/dev/null || echo "python3 -m uv")
RUN := $(UV) run --frozen --no-sync
say = @printf '\033[1;34m==> %s\033[0m\n' "$(1)"

.PHONY: help bootstrap demo test lint typecheck imports probe-compat unit fuzz e2e wheels ui images clean bench-store bench-gateway bench-probe soak

help:
	@echo "make demo   - run the whole stack locally (store, gateway, simulator, sample app) and open the UI"
	@echo "make test   - lint, type-check, layer contracts and every test (unit, integration, e2e, browser)"
	@echo "make fuzz   - the fuzzers alone, with a much larger budget (FUZZ_SCALE=50)"
	@echo "make wheels - build every component's wheel into dist/"
	@echo "make images - build the container images (needs a Docker engine; see README)"

bootstrap:
	$(call say,checking uv)
	@command -v uv >/dev/null 2>&1 || python3 -m uv --version >/dev/null 2>&1 || { \
		echo "uv not found: installing it with pip"; python3 -m pip install --quiet --user uv; }
	$(call say,installing the workspace (uv sync --frozen))
	@$(UV) sync --frozen --all-packages --quiet
	@LLMOBS_MAKE_GOALS="$(MAKECMDGOALS)" bash scripts/bootstrap-extras.sh

demo: bootstrap
	$(call say,starting the llmobs demo (Ctrl-C to stop))
	@$(RUN) llmobs demo $(DEMO_ARGS)

test: bootstrap lint typecheck imports probe-compat unit

lint:
	$(call say,ruff)
	@$(RUN) ruff check .
	@$(RUN) ruff format --check .

typecheck:
	$(call say,mypy --strict)
	@$(RUN) mypy

imports:
	$(call say,import-linter: components stay independent)
	@$(RUN) lint-imports

probe-compat:
	$(call say,vermin: the probe and its contract stay CPython 3.9 compatible)
	@$(RUN) vermin --no-tips --violations --eval-annotations -t=3.9- components/probe/src components/semconv/src

unit:
	$(call say,pytest (unit, integration, e2e, browser))
	@$(RUN) pytest $(PYTEST_ARGS)

# The fuzzers alone, LLMOBS_FUZZ_SCALE (default 50) times the examples `make test` gives them.
FUZZ_SCALE ?= 50
fuzz: bootstrap
	$(call say,fuzzers (hypothesis, $(FUZZ_SCALE)x the make test budget))
	@LLMOBS_FUZZ_SCALE=$(FUZZ_SCALE) $(RUN) pytest -m fuzz --timeout=0 $(PYTEST_ARGS)

e2e: bootstrap
	$(call say,e2e on a local Kubernetes control plane (poke one by hand: python -m e2e.cluster up))
	@$(RUN) pytest e2e $(PYTEST_ARGS)

wheels:
	$(call say,building every component's wheel into dist/)
	@for p in components/semconv components/probe components/gateway_tap components/store components/testing components/cli operator; do \
		$(UV) build --quiet --wheel --out-dir dist $$p; done
	@ls dist

# The web UI has no build step; its one library (Apache ECharts) is vendored, with its licence, into
# the store's static dir so `make demo` never needs npm. `make ui` refreshes it from the lock file.
UI_VENDOR := components/store/src/llmobs_store/ui/static/vendor
ui:
	$(call say,vendoring the web UI's chart library (npm ci; components/store/ui))
	@cd components/store/ui && npm ci --no-audit --no-fund --ignore-scripts --silent
	@cp components/store/ui/node_modules/echarts/dist/echarts.common.min.js $(UI_VENDOR)/
	@cp components/store/ui/node_modules/echarts/LICENSE $(UI_VENDOR)/ECHARTS-LICENSE
	@cp components/store/ui/node_modules/echarts/NOTICE $(UI_VENDOR)/ECHARTS-NOTICE

bench-gateway:
	$(call say,gateway benchmark: direct vs llmobs gateway vs LiteLLM and Portkey (6-8 minutes; run alone))
	@nice $(RUN) python benchmarks/gateway/bench_gateway.py $(BENCH_ARGS)
	@$(RUN) python benchmarks/gateway/chart.py .bench/gateway-results.json .bench/gateway-added-ttft.svg
	@$(RUN) python benchmarks/gateway/render_table.py .bench/gateway-results.json

# Soak: the demo stack for SOAK_DURATION seconds under load, with store kill -9s, upstream outages
# and a poison record a minute; checks acknowledged = stored + dead-lettered (not in `make test`).
SOAK_DURATION ?= 1800
soak: bootstrap
	$(call say,soak: $(SOAK_DURATION) s of load and faults on the demo stack (report in .bench/soak))
	@nice $(RUN) python benchmarks/soak/soak.py --duration $(SOAK_DURATION) $(SOAK_ARGS)

# Container images (operator, store, gateway, probe init). Needs a Docker (or podman/buildah)
# engine, which these development machines lack: see README "Images".
IMAGE_REGISTRY ?= ghcr.io/llmobs
IMAGE_TAG ?= 0.1.0
CONTAINER_TOOL ?= docker
images:
	$(call say,building the operator/store/gateway/probe images (tag $(IMAGE_TAG)))
	@command -v $(CONTAINER_TOOL) >/dev/null 2>&1 || { echo "make images: $(CONTAINER_TOOL) not found (set CONTAINER_TOOL=podman, or see README)" >&2; exit 2; }
	@for name in operator store gateway probe; do \
		$(CONTAINER_TOOL) build -f docker/$$name.Dockerfile -t $(IMAGE_REGISTRY)/$$name:$(IMAGE_TAG) . || exit 1; done

# Store benchmark vs Arize Phoenix (installed in a throwaway venv under .bench/, never locked) and
# the OpenTelemetry Collector (built once from benchmarks/store/otelcol's pinned Go modules).
bench-store: bootstrap
	$(call say,store vs Phoenix and the OpenTelemetry Collector: OTLP ingest and query latency (slow; run alone))
	@test -x .bench/phoenix-venv/bin/phoenix || { $(UV) venv -q .bench/phoenix-venv --python 3.11 && \
		$(UV) pip install -q --python .bench/phoenix-venv/bin/python arize-phoenix; }
	@nice $(RUN) python benchmarks/store/_otelcol.py
	@nice $(RUN) python benchmarks/store/bench.py $(BENCH_ARGS)

# Probe overhead: added CPU per OpenAI call / LangChain invoke / LangGraph turn / LlamaIndex query,
# llmobs vs its peers, each in a venv built from benchmarks/probe/envs/<peer>/uv.lock (cached under
# ~/.cache/llmobs/bench); rewrites the generated section of docs/benchmarks.md.
bench-probe: bootstrap
	$(call say,probe overhead: llmobs vs OpenInference + OpenLLMetry + LoongSuite + OpenLIT + official (~15 min; run alone))
	@nice $(RUN) python benchmarks/probe/overhead.py $(BENCH_ARGS)

clean:
	rm -rf dist .llmobs .pytest_cache .mypy_cache .ruff_cache
