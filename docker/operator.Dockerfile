# llmobs operator image: `llmobs operator run` (kopf operator + probe-injection webhook).
# Build from the repository root: docker build -f docker/operator.Dockerfile -t ghcr.io/llmobs/operator:0.1.0 .
FROM python:3.11-slim-bookworm AS build
RUN pip install --no-cache-dir uv==0.8.*
WORKDIR /src
COPY . .
RUN uv build --wheel --out-dir /wheels components/semconv components/probe components/gateway_tap \
        components/store components/testing components/cli operator \
    && python -m venv /venv && /venv/bin/pip install --no-cache-dir /wheels/*.whl

FROM python:3.11-slim-bookworm
COPY --from=build /venv /venv
USER 65532:65532
ENV PATH=/venv/bin:$PATH PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
ENTRYPOINT ["llmobs"]
CMD ["operator", "run"]
