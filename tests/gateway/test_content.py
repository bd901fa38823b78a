"""Content capture: redaction, and the chunk contract (bounded pieces, seq, last)."""

from collections.abc import Iterator

import pytest
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import Span

from llmobs_gateway._content import ContentStream, redact
from llmobs_semconv import chunks


def _output_stream(
    *, max_chunk_bytes: int, redact_content: bool
) -> tuple[ContentStream, InMemoryLogRecordExporter, Span]:
    """An output content stream whose records land in memory, for a fresh span."""
    exporter = InMemoryLogRecordExporter()
    logs = LoggerProvider()
    logs.add_log_record_processor(SimpleLogRecordProcessor(exporter))
    span = TracerProvider().get_tracer("t").start_span("s")
    stream = ContentStream(
        logs.get_logger("c"),
        span,
        chunks.ROLE_OUTPUT,
        chunks.FORMAT_TEXT,
        redact_content=redact_content,
        max_chunk_bytes=max_chunk_bytes,
    )
    return stream, exporter, span


def test_secrets_and_personal_data_are_redacted_and_counted() -> None:
    text, n = redact(
        "key sk-abcdefghijklmnopqrstuv mail bob@example.com card 4111 1111 1111 1111 "
        "Authorization: Bearer abcdefghijklmnop1234 aws AKIAABCDEFGHIJKLMNOP"
    )
    assert n == 5
    for secret in ("sk-abc", "bob@example.com", "4111", "abcdefghijklmnop1234", "AKIA"):
        assert secret not in text
    assert "[REDACTED:email]" in text
    assert redact("nothing to see") == ("nothing to see", 0)


def test_a_long_stream_leaves_in_bounded_pieces_that_reassemble() -> None:
    stream, exporter, span = _output_stream(max_chunk_bytes=64, redact_content=True)
    text = "héllo wörld " * 40 + "mail me at a@b.io"
    for i in range(0, len(text), 7):
        stream.write(text[i : i + 7])
    stream.close()
    records = [r.log_record for r in exporter.get_finished_logs()]
    assert len(records) > 5
    ctx = span.get_span_context()
    parsed = [
        chunks.ChunkRecord.from_log(
            format(r.trace_id, "032x"), format(r.span_id, "016x"), dict(r.attributes or {}), r.body
        )
        for r in records
    ]
    assert all(p.span_id == format(ctx.span_id, "016x") for p in parsed)
    assert [p.seq for p in parsed] == list(range(len(parsed)))
    assert [p.last for p in parsed] == [False] * (len(parsed) - 1) + [True]
    assert all(len(p.text.encode()) <= 64 for p in parsed)
    assert "".join(p.text for p in parsed) == text.replace("a@b.io", "[REDACTED:email]")
    assert all(r.event_name == chunks.EVENT_NAME for r in records)


def test_many_small_deltas_are_not_rejoined_and_re_encoded_on_every_write(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Each write of a long output once joined and re-encoded the whole held buffer as soon as
    # its characters could reach the limit (4 bytes each): quadratic work on the event loop for
    # any output past max_chunk_bytes / 4 characters. The buffer is measured a bounded number
    # of times per piece.
    splits = 0
    split_utf8 = chunks.split_utf8

    def counting(text: str, max_bytes: int = chunks.DEFAULT_MAX_CHUNK_BYTES) -> Iterator[str]:
        nonlocal splits
        splits += 1
        return split_utf8(text, max_bytes)

    monkeypatch.setattr(chunks, "split_utf8", counting)
    stream, exporter, _ = _output_stream(max_chunk_bytes=4096, redact_content=False)
    for _ in range(10_000):  # 40,000 bytes: ten pieces of 4 KiB
        stream.write("tok ")
    stream.close()
    texts = [r.log_record.body for r in exporter.get_finished_logs()]
    assert "".join(texts) == "tok " * 10_000  # type: ignore[arg-type]
    assert all(len(t.encode()) <= 4096 for t in texts)  # type: ignore[union-attr]
    assert splits < 10 * 50  # was ~7,500: one per write past 1,024 characters
