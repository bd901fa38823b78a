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

# Local part bounded (RFC 5321: 64) and anchored, so long runs of letters scan in linear time.
_EMAIL = re.compile(
    r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63})*\.[A-Za-z]{2,24}\b"
)
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
        self._replacers = {kind: _replacer(kind) for kind, _ in self._patterns}

    @property
    def active(self) -> bool:
        return self._builtin or self._hook is not None

    def apply(self, text: str) -> Tuple[str, int]:
        """Redact ``text``; returns (redacted text, number of replacements)."""
        count = [0]
        if self._builtin:
            for kind, pattern in self._patterns:
                if kind == "email" and "@" not in text:
                    continue
                text = pattern.sub(self._replacers[kind](count), text)
        if self._hook is not None:
            hooked = self._hook(text)
            if hooked != text:
                count[0] += 1
                text = hooked
        return text, count[0]


def _replacer(kind: str) -> Callable[[List[int]], Callable[[Match[str]], str]]:
    """A factory of ``re.sub`` callbacks that count the replacements they really make."""
    token = f"[REDACTED:{kind}]"

    def keep(match: Match[str]) -> bool:
        found = match.group(0)
        if kind == "card":
            digits = re.sub(r"\D", "", found)
            return not (13 <= len(digits) <= 19 and _luhn_ok(digits))
        if kind == "phone":
            # A bare run of digits is an id, not a phone number: ask for a separator or a '+'.
            n_digits = sum(c.isdigit() for c in found)
            return n_digits < 9 or not any(c in found for c in " .-()+")
        return False

    def factory(count: List[int]) -> Callable[[Match[str]], str]:
        def replace(match: Match[str]) -> str:
            if keep(match):
                return match.group(0)
            count[0] += 1
            return token

        return replace

    return factory


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
