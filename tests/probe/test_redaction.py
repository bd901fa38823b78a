"""Redaction: built-in patterns, Luhn-checked cards, a user hook, exact counts, linear time."""

from __future__ import annotations

import time

import pytest

from llmobs_probe._redaction import Redactor, load_hook


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("contact jane.doe+x@mail.example.co.uk today", "email"),
        ("call +1 (415) 555-0132 now", "phone"),
        ("call 030 1234 5678 now", "phone"),
        ("key sk-proj-abcdefghijklmnopqrstuv", "api_key"),
        ("key AKIAABCDEFGHIJKLMNOP", "api_key"),
        ("Authorization: Bearer abcdefghijklmnopqrstuvwxyz012345", "api_key"),
        ("card 4111 1111 1111 1111 ok", "card"),
        ("card 5500-0000-0000-0004 ok", "card"),
    ],
)
def test_builtin_patterns(text: str, kind: str) -> None:
    out, n = Redactor().apply(text)
    assert f"[REDACTED:{kind}]" in out
    assert n == 1


def test_lookalikes_survive() -> None:
    text = "order 1234567890123 on 2026-11-21, version 1.2.3, user@localhost"
    assert Redactor().apply(text) == (text, 0)


def test_hook_runs_after_builtins() -> None:
    r = Redactor(hook=lambda s: s.replace("Project Falcon", "[REDACTED:codename]"))
    out, n = r.apply("Project Falcon mail: a@b.io")
    assert out == "[REDACTED:codename] mail: [REDACTED:email]"
    assert n == 2


def test_builtins_can_be_switched_off() -> None:
    assert Redactor(builtin=False).apply("a@b.io") == ("a@b.io", 0)


def test_hook_loading_errors_name_the_setting() -> None:
    assert load_hook("os.path:basename")("/a/b") == "b"
    with pytest.raises(ValueError, match="LLMOBS_REDACTION_HOOK"):
        load_hook("no_such_module_xyz:f")


def test_long_runs_scan_in_linear_time() -> None:
    text = ("abcdefghij0123456789" * 4000) + "@"  # 80 KB of address-like characters
    t0 = time.perf_counter()
    Redactor().apply(text)
    assert time.perf_counter() - t0 < 0.5
