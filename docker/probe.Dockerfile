# llmobs probe init image: holds the probe bundle at /llmobs/probe (bootstrap/ + site-packages/)
# and `cp`, nothing else. The webhook runs `cp -a /llmobs/probe/. /llmobs-probe/` from it.
# The payload comes from the probe's bundle command (components/probe); it must carry wheels for
# CPython 3.9-3.13 on glibc (manylinux), since it is imported by the app's own interpreter.
# Build from the repository root: docker build -f docker/probe.Dockerfile -t ghcr.io/llmobs/probe:0.1.0 .
FROM python:3.11-slim-bookworm AS build
RUN pip install --no-cache-dir uv==0.8.*
WORKDIR /src
COPY . .
RUN uv sync --frozen --all-packages --no-dev \
    && uv run --frozen --no-sync llmobs-instrument bundle --output /llmobs/probe

FROM busybox:1.37-glibc
COPY --from=build --chown=65532:65532 /llmobs/probe /llmobs/probe
USER 65532:65532
CMD ["cp", "-a", "/llmobs/probe/.", "/llmobs-probe/"]
