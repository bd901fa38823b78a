"""Deterministic text for the simulator: token counts, generated words, tool arguments, vectors.

Token counting is a documented heuristic, not a real tokenizer: every whitespace-separated word
counts ``ceil(len(word) / 4)`` tokens (so "hello" is 2, "a" is 1), and the empty string is 0.
Everything generated is a pure function of the seed, the model name and the prompt, so the same
request always gets the same answer, in any process.
"""

import base64
import hashlib
import json
import math
import random
import struct
from collections.abc import Iterable
from typing import Any

_WORDS = [
    "the",
    "model",
    "answers",
    "every",
    "question",
    "with",
    "calm",
    "and",
    "measured",
    "words",
    "about",
    "latency",
    "tokens",
    "streams",
    "caches",
    "queues",
    "gateways",
    "traces",
    "spans",
    "metrics",
    "probes",
    "clusters",
    "nodes",
    "pods",
    "budgets",
    "prompts",
    "replies",
    "agents",
    "tools",
    "vectors",
    "embeddings",
    "retrieval",
    "context",
    "windows",
    "and",
    "careful",
    "observations",
    "of",
    "time",
]


def count_tokens(text: str) -> int:
    """Tokens in ``text`` by the 4-characters-per-token heuristic, per whitespace-split word."""
    return sum(math.ceil(len(word) / 4) for word in text.split())


def _rng(*parts: object) -> random.Random:
    digest = hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def generate_tokens(seed: int, model: str, prompt: str, count: int) -> list[str]:
    """``count`` deterministic output tokens (words; all but the first start with a space)."""
    rng = _rng(seed, model, prompt)
    words = [rng.choice(_WORDS) for _ in range(count)]
    return [w if i == 0 else " " + w for i, w in enumerate(words)]


def _value_for(schema: Any, rng: random.Random) -> Any:
    if not isinstance(schema, dict):
        return rng.choice(_WORDS)
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        return schema["enum"][0]
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "string")
    if kind == "integer":
        return rng.randint(1, 100)
    if kind == "number":
        return round(rng.uniform(0, 100), 2)
    if kind == "boolean":
        return rng.random() < 0.5
    if kind == "array":
        return [_value_for(schema.get("items", {}), rng)]
    if kind == "object":
        return tool_arguments_object(schema, rng)
    return rng.choice(_WORDS)


def tool_arguments_object(schema: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    """A value for every required property (all properties when none is marked required)."""
    props = schema.get("properties")
    if not isinstance(props, dict):
        return {}
    required = schema.get("required")
    names = [n for n in required if n in props] if isinstance(required, list) else list(props)
    return {name: _value_for(props[name], rng) for name in names}


def tool_arguments(seed: int, name: str, parameters: Any, prompt: str) -> str:
    """Deterministic JSON arguments that fit the tool's JSON-schema ``parameters``."""
    rng = _rng(seed, "tool", name, prompt)
    schema = parameters if isinstance(parameters, dict) else {}
    return json.dumps(tool_arguments_object(schema, rng), separators=(",", ":"))


def split_pieces(text: str, size: int = 4) -> list[str]:
    """``text`` cut into pieces of ``size`` characters (one streamed token each)."""
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]


def embedding(seed: int, model: str, text: str, dim: int) -> list[float]:
    """A deterministic unit vector of length ``dim`` from a hash of ``text``.

    Values are rounded to float32, so the float and base64 encodings carry the same numbers.
    """
    values: list[float] = []
    counter = 0
    while len(values) < dim:
        block = hashlib.sha256(f"{seed}\x1f{model}\x1f{counter}\x1f{text}".encode()).digest()
        values.extend((b - 127.5) / 127.5 for b in block)
        counter += 1
    values = values[:dim]
    norm = math.sqrt(sum(v * v for v in values)) or 1.0
    packed = struct.pack(f"<{dim}f", *(v / norm for v in values))
    return list(struct.unpack(f"<{dim}f", packed))


def encode_base64(vector: Iterable[float]) -> str:
    """Little-endian float32 bytes in base64, as OpenAI's ``encoding_format=base64`` returns."""
    floats = list(vector)
    return base64.b64encode(struct.pack(f"<{len(floats)}f", *floats)).decode()
