"""Redaction of captured content before it leaves the process.

Built-in patterns replace e-mail addresses, phone numbers, API keys and payment-card numbers (Luhn
checked, so order numbers survive) with ``[REDACTED:<kind>]``; a user hook (``module:function``,
``str -> str``) runs after them. :meth:`Redactor.apply` returns the new text and how many
replacements were made, which the chunk record carries as ``llmobs.chunk.redacted``.
"""

from __future__ import annotations

import importlib
import re
from typing import Callable, List, Match, Optional, Pattern, Tuple

_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
_API_KEY = re.compile(
    r"\b(?:sk-(?:proj-|ant-)?[A-Za-z0-9_-]{16,}|AKIA[0-9A-Z]{16}|gh[pousr]_[A-Za-z0-9]{30,}"
    r"|xox[abprs]-[A-Za-z0-9-]{10,}|AIza[0-9A-Za-z_-]{35})\b"
    r"|(?i:bearer\s+)[A-Za-z0-9._~+/-]{20,}=*"
)
_CARD = re.compile(r"\b(?:\d[ -]?){12,18}\d\b")
_PHONE = re.compile(r"(?<![\w+])\+?\d{1,3}?[ .-]?\(?\d{2,4}\)?[ .-]?\d{3,4}[ .-]?\d{3,4}\b")


def _luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        n = ord(ch) - 48
        if i % 2 == 1:
            n *= 2
            if n > 9:
                n -= 9
        total += n
    return total % 10 == 0


class Redactor:
    """Applies the built-in patterns (when enabled) and an optional hook."""

    def __init__(self, builtin: bool = True, hook: Optional[Callable[[str], str]] = None) -> None:
        self._builtin = builtin
        self._hook = hook
        # Order matters: keys and cards before phones (a phone pattern would eat their digits).
        self._patterns: List[Tuple[str, Pattern[str]]] = [
            ("api_key", _API_KEY),
            ("email", _EMAIL),
            ("card", _CARD),
            ("phone", _PHONE),
        ]

    @property
    def active(self) -> bool:
        return self._builtin or self._hook is not None

    def apply(self, text: str) -> Tuple[str, int]:
        """Redact ``text``; returns (redacted text, number of replacements)."""
        count = 0
        if self._builtin:
            for kind, pattern in self._patterns:
                text, n = pattern.subn(_replacer(kind), text)
                count += n
        if self._hook is not None:
            hooked = self._hook(text)
            if hooked != text:
                count += 1
                text = hooked
        return text, count


def _replacer(kind: str) -> Callable[[Match[str]], str]:
    token = f"[REDACTED:{kind}]"
    if kind == "card":

        def card(match: Match[str]) -> str:
            digits = re.sub(r"\D", "", match.group(0))
            return token if 13 <= len(digits) <= 19 and _luhn_ok(digits) else match.group(0)

        return card
    if kind == "phone":

        def phone(match: Match[str]) -> str:
            digits = sum(c.isdigit() for c in match.group(0))
            return token if digits >= 9 else match.group(0)

        return phone
    return lambda _match: token


def load_hook(spec: str) -> Callable[[str], str]:
    """Import ``module:function``; raises ValueError naming the spec when it cannot be loaded."""
    module_name, _, attr = spec.partition(":")
    try:
        func = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise ValueError(f"LLMOBS_REDACTION_HOOK={spec!r} cannot be loaded: {exc}") from None
    if not callable(func):
        raise ValueError(f"LLMOBS_REDACTION_HOOK={spec!r} is not callable")
    return func  # type: ignore[no-any-return]
