"""The probe's own accounting: errors counted and logged once, exporter logs rate-limited."""

from __future__ import annotations

import logging

import pytest

from llmobs_probe import _guard


def test_errors_are_counted_and_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    before = _guard.errors().get("test place", 0)
    with caplog.at_level(logging.WARNING, logger="llmobs_probe"):
        for _ in range(3):
            try:
                raise RuntimeError("boom")
            except RuntimeError as exc:
                _guard.record_error("test place", exc)
    assert _guard.errors()["test place"] == before + 3
    assert sum("test place" in r.getMessage() for r in caplog.records) == (1 if before == 0 else 0)


def test_exporter_warnings_are_rate_limited() -> None:
    f = _guard.RateLimitFilter(interval_s=60)
    record = logging.LogRecord(
        "x", logging.WARNING, __file__, 1, "Transient error %s", ("a",), None
    )
    assert f.filter(record) is True
    assert f.filter(record) is False  # same template within the interval
    other = logging.LogRecord("x", logging.ERROR, __file__, 1, "Failed to export", None, None)
    assert f.filter(other) is True
