"""Settings of the model-server simulator (pydantic-settings, environment prefix ``LLMOBS_SIM_``).

Each :class:`ModelProfile` behaves like its own vLLM engine: its own latency figures, its own
concurrency limit and waiting queue, its own ``model_name`` label on ``/metrics``.
"""

from typing import Self

from pydantic import BaseModel, Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class ModelProfile(BaseModel):
    """One served model and its timing figures."""

    name: str = Field(min_length=1, description="Model name served (the request's `model`).")
    ttft_s: float = Field(
        default=0.05,
        ge=0,
        description="Time to first token in seconds, from admission to the first token.",
    )
    itl_s: float = Field(
        default=0.01, ge=0, description="Inter-token latency in seconds between streamed tokens."
    )
    prefill_s_per_token: float = Field(
        default=0.0,
        ge=0,
        description="Extra prefill time per prompt token, added to the time to first token.",
    )
    default_output_tokens: int = Field(
        default=16,
        ge=1,
        description="Output length in tokens (max_tokens and x-sim-output-tokens override).",
    )
    embedding_dim: int = Field(
        default=384, ge=1, le=65536, description="Length of the vectors /v1/embeddings returns."
    )


class SimulatorSettings(BaseSettings):
    """Everything the simulator can be told (environment variables: ``LLMOBS_SIM_<FIELD>``)."""

    model_config = SettingsConfigDict(env_prefix="LLMOBS_SIM_", extra="forbid")

    models: list[ModelProfile] = Field(
        default_factory=lambda: [ModelProfile(name="sim-model")],
        min_length=1,
        description="Served models (JSON list in the environment); the first is the default.",
    )
    strict_models: bool = Field(
        default=False,
        description="Answer 404 for an unknown model (as vLLM does) instead of serving it with "
        "the first profile's engine (the response still echoes the requested name).",
    )
    max_concurrent: int = Field(
        default=64,
        ge=1,
        description="Sequences each model runs at once; further requests wait in a FIFO queue.",
    )
    kv_cache_tokens: int = Field(
        default=65536,
        ge=1,
        description="Simulated KV-cache capacity in tokens per model; usage is the prompt plus "
        "generated tokens of the running sequences over this.",
    )
    error_rate: float = Field(
        default=0.0, ge=0, le=1, description="Fraction of requests failed before the first byte."
    )
    error_status: int = Field(
        default=503, ge=400, le=599, description="HTTP status of the randomly failed requests."
    )
    mid_stream_failure_rate: float = Field(
        default=0.0,
        ge=0,
        le=1,
        description="Fraction of streamed responses cut abruptly part-way (connection closed).",
    )
    seed: int = Field(
        default=0, description="Seed of the generated content and of the random failures."
    )
    recent_requests: int = Field(
        default=256,
        ge=0,
        description="How many recent requests /sim/requests remembers (model, traceparent, ...).",
    )

    @model_validator(mode="after")
    def _unique_names(self) -> Self:
        names = [m.name for m in self.models]
        if len(set(names)) != len(names):
            raise ValueError(f"models: duplicate model names in {names}")
        return self

    def profile(self, name: str) -> ModelProfile | None:
        """The profile whose engine serves ``name``: exact match, else (unless strict) the first."""
        for model in self.models:
            if model.name == name:
                return model
        if self.strict_models:
            return None
        return self.models[0]
