"""The model price table format shared by probe, gateway and store.

A table is a list of entries, matched in order by a regular expression on the model name
(full match, case-insensitive); the first match wins. Prices are USD per one million tokens, input
and output separately (they are billed separately), with an optional price for cached input.
A file overriding the defaults is JSON: ``{"models": [{"pattern": ..., "input": ..., ...}]}``;
its entries are tried before the shipped defaults.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Final


@dataclass(frozen=True)
class ModelPrice:
    """Prices of one model family, USD per 1M tokens."""

    pattern: str
    input: float
    output: float
    cached_input: float | None = None

    def matches(self, model: str) -> bool:
        return re.fullmatch(self.pattern, model, flags=re.IGNORECASE) is not None

    def cost(self, input_tokens: int, output_tokens: int, cached_input_tokens: int = 0) -> Cost:
        """Cost of one call at these prices; input tokens include the cached ones."""
        cached = min(max(cached_input_tokens, 0), max(input_tokens, 0))
        cached_price = self.input if self.cached_input is None else self.cached_input
        input_usd = ((input_tokens - cached) * self.input + cached * cached_price) / 1e6
        return Cost(input_usd=input_usd, output_usd=output_tokens * self.output / 1e6)


@dataclass(frozen=True)
class Cost:
    """What one call cost, USD."""

    input_usd: float
    output_usd: float

    @property
    def total_usd(self) -> float:
        return self.input_usd + self.output_usd


#: Shipped defaults (list prices, USD per 1M tokens, as published by the providers in 2026).
DEFAULT_PRICES: Final[tuple[ModelPrice, ...]] = (
    ModelPrice(r"gpt-4o-mini(-\d{4}-\d{2}-\d{2})?", 0.15, 0.60, 0.075),
    ModelPrice(r"gpt-4o(-\d{4}-\d{2}-\d{2})?", 2.50, 10.00, 1.25),
    ModelPrice(r"gpt-4\.1-nano.*", 0.10, 0.40, 0.025),
    ModelPrice(r"gpt-4\.1-mini.*", 0.40, 1.60, 0.10),
    ModelPrice(r"gpt-4\.1.*", 2.00, 8.00, 0.50),
    ModelPrice(r"gpt-5-nano.*", 0.05, 0.40, 0.005),
    ModelPrice(r"gpt-5-mini.*", 0.25, 2.00, 0.025),
    ModelPrice(r"gpt-5.*", 1.25, 10.00, 0.125),
    ModelPrice(r"o4-mini.*", 1.10, 4.40, 0.275),
    ModelPrice(r"o3.*", 2.00, 8.00, 0.50),
    ModelPrice(r"gpt-3\.5-turbo.*", 0.50, 1.50),
    ModelPrice(r"text-embedding-3-small", 0.02, 0.0),
    ModelPrice(r"text-embedding-3-large", 0.13, 0.0),
    ModelPrice(r"text-embedding-ada-002", 0.10, 0.0),
    ModelPrice(r"deepseek-chat", 0.27, 1.10, 0.07),
    ModelPrice(r"deepseek-reasoner", 0.55, 2.19, 0.14),
    ModelPrice(r"qwen-max.*", 1.60, 6.40),
    ModelPrice(r"qwen-plus.*", 0.40, 1.20),
    ModelPrice(r"qwen-turbo.*", 0.05, 0.20),
    ModelPrice(r"(qwen/)?qwen[23](\.5)?-.*", 0.20, 0.60),
)


class PriceTable:
    """An ordered list of :class:`ModelPrice`; the first entry whose pattern matches wins."""

    def __init__(self, entries: Iterable[ModelPrice] = DEFAULT_PRICES) -> None:
        self.entries: list[ModelPrice] = list(entries)
        for entry in self.entries:
            re.compile(entry.pattern)  # fail early, naming nothing but the bad pattern

    def price(self, model: str | None) -> ModelPrice | None:
        if not model:
            return None
        for entry in self.entries:
            if entry.matches(model):
                return entry
        return None

    def cost(
        self,
        model: str | None,
        input_tokens: int,
        output_tokens: int,
        cached_input_tokens: int = 0,
    ) -> Cost | None:
        """Cost of one call; None when the model has no price. Input tokens include cached ones."""
        entry = self.price(model)
        if entry is None:
            return None
        return entry.cost(input_tokens, output_tokens, cached_input_tokens)

    @classmethod
    def with_overrides(cls, entries: Sequence[ModelPrice]) -> PriceTable:
        """Overrides first, then the shipped defaults."""
        return cls(list(entries) + list(DEFAULT_PRICES))

    @classmethod
    def from_json(cls, text: str) -> PriceTable:
        """Parse an override file; raises ValueError naming the entry and field that are wrong."""
        try:
            doc: Any = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"price table is not valid JSON: {exc}") from None
        if not isinstance(doc, dict) or not isinstance(doc.get("models"), list):
            raise ValueError('price table must be an object with a "models" list')
        entries = []
        for i, raw in enumerate(doc["models"]):
            if not isinstance(raw, dict):
                raise ValueError(f"models[{i}] must be an object")
            try:
                pattern = str(raw["pattern"])
                re.compile(pattern)
                entry = ModelPrice(
                    pattern=pattern,
                    input=float(raw["input"]),
                    output=float(raw["output"]),
                    cached_input=(
                        None if raw.get("cached_input") is None else float(raw["cached_input"])
                    ),
                )
            except KeyError as exc:
                raise ValueError(f"models[{i}] lacks the field {exc.args[0]!r}") from None
            except re.error as exc:
                raise ValueError(f"models[{i}].pattern is not a valid regex: {exc}") from None
            except (TypeError, ValueError):
                raise ValueError(f"models[{i}] has a price that is not a number") from None
            entries.append(entry)
        return cls.with_overrides(entries)
