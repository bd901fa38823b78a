# llmobs probe init image: the probe bundles at /llmobs/probe and `cp`, nothing else. The webhook
# runs `cp -a /llmobs/probe/. /llmobs-probe/` from it into the pod's emptyDir.
#
# Layout (see docker/probe-dispatch/sitecustomize.py):
#   /llmobs/probe/bootstrap/sitecustomize.py   dispatcher: picks the running CPython's bundle
#   /llmobs/probe/python3.X/{bootstrap,site-packages}   `llmobs-instrument bundle` per version
# One bundle per CPython minor version (3.9-3.13), because the probe's dependencies resolve to
# different releases per version and carry version-tagged C extensions (manylinux, glibc).
# Build from the repository root: docker build -f docker/probe.Dockerfile -t ghcr.io/llmobs/probe:0.1.0 .
FROM python:3.11-slim-bookworm AS build
ARG TARGETARCH=amd64
RUN pip install --no-cache-dir uv==0.8.*
WORKDIR /src
COPY . .
RUN uv sync --frozen --all-packages --no-dev \
    && arch="$([ "$TARGETARCH" = arm64 ] && echo aarch64 || echo x86_64)" \
    && for v in 3.9 3.10 3.11 3.12 3.13; do \
         uv run --frozen --no-sync llmobs-instrument bundle "/llmobs/probe/python$v" \
             --python-version "$v" --platform "${arch}-manylinux_2_28" || exit 1; \
       done \
    && mkdir -p /llmobs/probe/bootstrap \
    && cp docker/probe-dispatch/sitecustomize.py /llmobs/probe/bootstrap/sitecustomize.py \
    && find /llmobs/probe -name __pycache__ -prune -exec rm -rf {} +

FROM busybox:1.37-glibc
COPY --from=build --chown=65532:65532 /llmobs/probe /llmobs/probe
USER 65532:65532
CMD ["cp", "-a", "/llmobs/probe/.", "/llmobs-probe/"]
