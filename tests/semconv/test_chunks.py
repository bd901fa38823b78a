"""The chunk contract: records round-trip through log attributes; text splits safely."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from llmobs_semconv import chunks

TRACE = "0af7651916cd43dd8448eb211c80319c"
SPAN = "b7ad6b7169203331"


def test_record_round_trips_through_log_attributes() -> None:
    record = chunks.ChunkRecord(TRACE, SPAN, chunks.ROLE_OUTPUT, 3, True, "héllo", "json", 2)
    attrs = record.attributes()
    assert chunks.is_chunk(attrs)
    assert chunks.ChunkRecord.from_log(TRACE.upper(), SPAN, attrs, "héllo") == record


@pytest.mark.parametrize(
    ("field", "kwargs"),
    [
        ("trace_id", {"trace_id": "xyz"}),
        ("span_id", {"span_id": "0" * 15}),
        (chunks.ROLE, {"role": "system"}),
        (chunks.FORMAT, {"format": "xml"}),
        (chunks.SEQ, {"seq": -1}),
    ],
)
def test_invalid_record_names_the_field(field: str, kwargs: dict[str, object]) -> None:
    base: dict[str, object] = {
        "trace_id": TRACE,
        "span_id": SPAN,
        "role": "input",
        "seq": 0,
        "last": False,
        "text": "x",
    }
    with pytest.raises(ValueError, match=field):
        chunks.ChunkRecord(**{**base, **kwargs})  # type: ignore[arg-type]


def test_from_log_rejects_missing_seq_and_non_string_body() -> None:
    with pytest.raises(ValueError, match=chunks.SEQ):
        chunks.ChunkRecord.from_log(TRACE, SPAN, {chunks.ROLE: "input"}, "x")
    with pytest.raises(ValueError, match="body"):
        chunks.ChunkRecord.from_log(TRACE, SPAN, {chunks.ROLE: "input", chunks.SEQ: 0}, b"x")


@given(st.text(), st.integers(min_value=4, max_value=64))
def test_split_utf8_never_cuts_a_character(text: str, max_bytes: int) -> None:
    pieces = list(chunks.split_utf8(text, max_bytes))
    assert "".join(pieces) == text
    assert all(0 < len(p.encode("utf-8")) <= max_bytes for p in pieces)
