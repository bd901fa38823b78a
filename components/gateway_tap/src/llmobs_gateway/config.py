"""The gateway's routing file (YAML or JSON): upstreams, routes and limits.

A bad file is reported as one line naming the field, e.g. ``upstreams[1].base_url: ...``, so that
``llmobs gateway serve`` can exit with that line instead of a traceback. API keys never live in the
file itself: an upstream names an environment variable or a file that holds its key.
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator


class ConfigError(ValueError):
    """The routing file (or an ``--upstream`` flag) is wrong; the message is one line."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class UpstreamConfig(_Strict):
    """One OpenAI-compatible model server (vLLM, SGLang, OpenAI, DeepSeek, ...)."""

    name: str = Field(min_length=1, description="Name used in routes, spans and metrics.")
    base_url: str = Field(
        description="Base URL including the API prefix, e.g. http://vllm:8000/v1."
    )
    api_key_env: str | None = Field(
        default=None, description="Environment variable holding the upstream API key."
    )
    api_key_file: str | None = Field(
        default=None, description="File holding the upstream API key (e.g. a mounted secret)."
    )
    models: list[str] = Field(
        default_factory=list, description="Models this upstream serves (listed by /v1/models)."
    )
    provider: str = Field(default="openai", description="gen_ai.provider.name for its spans.")
    weight: float = Field(default=1.0, gt=0, description="Share of traffic among weighted peers.")
    priority: int = Field(
        default=0, ge=0, description="Lower is tried first; equal priorities share the load."
    )
    connect_timeout_s: float = Field(default=2.0, gt=0, description="TCP/TLS connect timeout.")
    first_byte_timeout_s: float = Field(
        default=60.0, gt=0, description="Longest wait for the response headers."
    )
    idle_timeout_s: float = Field(
        default=30.0, gt=0, description="Longest silence between two stream chunks."
    )
    max_connections: int = Field(default=512, gt=0, description="Keep-alive pool size.")
    ca_file: str | None = Field(
        default=None, description="PEM bundle of CAs trusted for this https upstream (else system)."
    )
    tls_verify: bool = Field(
        default=True, description="Verify the https upstream's certificate (off only for tests)."
    )

    @field_validator("base_url")
    @classmethod
    def _url(cls, value: str) -> str:
        if not re.match(r"^https?://[^/\s]+", value):
            raise ValueError(f"must be an http(s) URL, got {value!r}")
        return value.rstrip("/")

    def read_api_key(self) -> str | None:
        """The key from the environment or the key file; never logged by any caller."""
        if self.api_key_env:
            key = os.environ.get(self.api_key_env)
            if key:
                return key.strip()
        if self.api_key_file:
            try:
                return Path(self.api_key_file).read_text(encoding="utf-8").strip() or None
            except OSError as exc:
                raise ConfigError(
                    f"upstream {self.name!r}: api_key_file unreadable: {exc.strerror}"
                ) from None
        return None


class RouteConfig(_Strict):
    """Requested model (exact name, or a glob such as ``gpt-*``) -> ordered upstream list."""

    model: str = Field(min_length=1, description="Exact model name, or a glob pattern.")
    upstreams: list[str] = Field(min_length=1, description="Upstream names, tried in order.")
    balance: Literal["ordered", "weighted"] = Field(
        default="ordered",
        description="ordered: always the first healthy; weighted: first pick by upstream weight.",
    )
    upstream_model: str | None = Field(
        default=None, description="Model name to send upstream instead of the requested one."
    )

    @property
    def is_pattern(self) -> bool:
        return any(c in self.model for c in "*?[")

    def matches(self, model: str) -> bool:
        if self.is_pattern:
            return fnmatch.fnmatchcase(model, self.model)
        return model == self.model


class LimitConfig(_Strict):
    """A requests-per-minute and/or tokens-per-minute limit for an API key or a model."""

    scope: Literal["key", "model"] = Field(description="key: per caller API key; model: per model.")
    match: str = Field(
        default="*", description="Glob on the model, or on the key's hash prefix; * for each."
    )
    rpm: int | None = Field(default=None, gt=0, description="Requests per minute.")
    tpm: int | None = Field(default=None, gt=0, description="Tokens (input+output) per minute.")

    @model_validator(mode="after")
    def _some_limit(self) -> LimitConfig:
        if self.rpm is None and self.tpm is None:
            raise ValueError("a limit needs rpm or tpm")
        return self


class GatewayConfig(_Strict):
    """The whole routing file."""

    upstreams: list[UpstreamConfig] = Field(default_factory=list)
    routes: list[RouteConfig] = Field(default_factory=list)
    limits: list[LimitConfig] = Field(default_factory=list)
    api_keys: list[str] | None = Field(
        default=None,
        description="sha256 hex digests of accepted caller keys; none means no auth is enforced.",
    )

    @model_validator(mode="after")
    def _consistent(self) -> GatewayConfig:
        names = [u.name for u in self.upstreams]
        seen: set[str] = set()
        for i, name in enumerate(names):
            if name in seen:
                raise ValueError(f"upstreams[{i}].name: duplicate upstream name {name!r}")
            seen.add(name)
        for i, route in enumerate(self.routes):
            for j, ref in enumerate(route.upstreams):
                if ref not in seen:
                    raise ValueError(f"routes[{i}].upstreams[{j}]: no upstream named {ref!r}")
        return self

    def upstream(self, name: str) -> UpstreamConfig:
        return next(u for u in self.upstreams if u.name == name)

    def resolved_routes(self) -> list[RouteConfig]:
        """The routes, or, when the file has none (as the operator writes it), routes derived
        from the upstreams: each listed model goes to the upstreams listing it, and any other
        model to the upstreams that list none; lower priority first, equal priorities share."""
        if self.routes:
            return list(self.routes)
        by_priority = sorted(self.upstreams, key=lambda u: u.priority)
        models: dict[str, list[str]] = {}
        catch_all: list[str] = []
        for upstream in by_priority:
            if not upstream.models:
                catch_all.append(upstream.name)
            for model in upstream.models:
                models.setdefault(model, []).append(upstream.name)
        routes = [
            RouteConfig(model=model, upstreams=names, balance="weighted")
            for model, names in models.items()
        ]
        if catch_all:
            routes.append(RouteConfig(model="*", upstreams=catch_all, balance="weighted"))
        return routes


def _field_path(loc: Sequence[int | str]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def _one_line(exc: ValidationError) -> str:
    err = exc.errors()[0]
    msg = str(err["msg"]).removeprefix("Value error, ")
    where = _field_path(err["loc"])
    if msg.startswith(("upstreams[", "routes[")):  # already names its field (model validator)
        return msg
    return f"{where}: {msg}" if where else msg


def parse_config(doc: Any) -> GatewayConfig:
    """Validate a parsed document; raises :class:`ConfigError` naming the bad field."""
    if not isinstance(doc, dict):
        raise ConfigError("the config file must be a mapping with upstreams and routes")
    try:
        return GatewayConfig.model_validate(doc)
    except ValidationError as exc:
        raise ConfigError(_one_line(exc)) from None


def load_config(path: str | Path) -> GatewayConfig:
    """Read a YAML or JSON routing file; raises :class:`ConfigError` with one line."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: {exc.strerror}") from None
    try:
        doc = json.loads(text) if str(path).endswith(".json") else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ConfigError(f"{path}: not valid YAML/JSON: {first}") from None
    return parse_config(doc)


def _upstream_name(url: str) -> str:
    return re.sub(r"[^a-zA-Z0-9]+", "-", re.sub(r"^https?://", "", url)).strip("-")


def config_from_flags(flags: Sequence[str], base: GatewayConfig | None = None) -> GatewayConfig:
    """Add ``MODEL=URL`` shorthands (``--upstream``) to ``base``: one upstream and route each."""
    doc: dict[str, Any] = base.model_dump() if base else {"upstreams": [], "routes": []}
    upstreams: list[dict[str, Any]] = doc["upstreams"]
    by_url = {u["base_url"]: u for u in upstreams}
    for i, flag in enumerate(flags):
        model, sep, url = flag.partition("=")
        if not sep or not model or not url:
            raise ConfigError(f"--upstream[{i}]: expected MODEL=URL, got {flag!r}")
        url = url.rstrip("/")
        entry = by_url.get(url)
        if entry is None:
            entry = {"name": _upstream_name(url) or f"upstream-{i}", "base_url": url, "models": []}
            upstreams.append(entry)
            by_url[url] = entry
        if model not in entry["models"]:
            entry["models"].append(model)
        doc["routes"].append({"model": model, "upstreams": [entry["name"]]})
    try:
        return parse_config(doc)
    except ConfigError as exc:
        raise ConfigError(f"--upstream: {exc}") from None
