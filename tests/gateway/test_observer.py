"""The stream observer: bytes pass unchanged (event-aligned), numbers are read on the side."""

import itertools
import json
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from llmobs_gateway._observer import ResponseObserver


def _event(doc: dict[str, object]) -> bytes:
    return b"data: " + json.dumps(doc).encode() + b"\n\n"


def _chunk(text: str, finish: str | None = None) -> bytes:
    return _event(
        {
            "id": "chatcmpl-1",
            "model": "m-served",
            "choices": [{"index": 0, "delta": {"content": text}, "finish_reason": finish}],
            "usage": None,
        }
    )


USAGE = _event(
    {"id": "chatcmpl-1", "choices": [], "usage": {"prompt_tokens": 7, "completion_tokens": 3}}
)
ROLE = _event(
    {
        "id": "chatcmpl-1",
        "model": "m-served",
        "choices": [{"delta": {"role": "assistant", "content": ""}}],
    }
)
STREAM = ROLE + _chunk("Hel") + _chunk("lo") + _chunk("!", "stop") + USAGE + b"data: [DONE]\n\n"


class _Sink:
    def __init__(self) -> None:
        self.parts: list[str] = []

    def write(self, text: str) -> None:
        self.parts.append(text)


def test_usage_chunk_is_read_and_kept_when_the_client_asked_for_it() -> None:
    obs = ResponseObserver(strip_usage=False)
    out = obs.feed(STREAM) + obs.flush()
    assert out == STREAM
    assert (obs.input_tokens, obs.output_tokens) == (7, 3)
    assert obs.chunks == 3  # the role-only chunk carries no output
    assert obs.finish_reasons == ["stop"]
    assert obs.response_id == "chatcmpl-1"
    assert obs.response_model == "m-served"
    assert obs.done


def test_the_injected_usage_chunk_is_removed_and_nothing_else() -> None:
    obs = ResponseObserver(strip_usage=True)
    out = obs.feed(STREAM) + obs.flush()
    assert out == STREAM.replace(USAGE, b"")
    assert obs.output_tokens == 3


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(min_value=1, max_value=len(STREAM) - 1), max_size=12, unique=True))
def test_any_split_of_the_bytes_gives_the_same_output_and_numbers(cuts: list[int]) -> None:
    edges = [0, *sorted(cuts), len(STREAM)]
    obs = ResponseObserver(strip_usage=True)
    out = b"".join(obs.feed(STREAM[a:b]) for a, b in itertools.pairwise(edges))
    out += obs.flush()
    assert out == STREAM.replace(USAGE, b"")
    assert (obs.chunks, obs.output_tokens, obs.finish_reasons) == (3, 3, ["stop"])


def test_partial_events_are_held_until_complete_and_never_split() -> None:
    obs = ResponseObserver()
    first = _chunk("a")
    assert obs.feed(first[:10]) == b""
    assert obs.feed(first[10:] + _chunk("b")[:5]) == first
    assert obs.flush() == _chunk("b")[:5]


def test_crlf_framed_events_are_understood() -> None:
    stream = STREAM.replace(b"\n\n", b"\r\n\r\n")
    obs = ResponseObserver(strip_usage=True)
    out = obs.feed(stream) + obs.flush()
    assert b'"usage": {"prompt_tokens"' not in out
    assert obs.chunks == 3
    assert obs.input_tokens == 7


def test_content_goes_to_the_sink_only_when_capturing() -> None:
    sink = _Sink()
    obs = ResponseObserver(sink=sink)
    obs.feed(STREAM)
    assert "".join(sink.parts) == "Hello!"


def test_gaps_and_tpot_come_from_chunk_times() -> None:
    obs = ResponseObserver()
    obs.first_at, obs.last_at, obs.output_tokens = 1.0, 1.5, 6
    obs.gaps.extend([0.1, 0.1, 0.1, 0.1, 0.3])
    assert obs.tpot() == 0.1
    assert obs.gap_stats() == (0.3, 0.3)
    empty = ResponseObserver()
    assert empty.tpot() is None
    assert empty.gap_stats() is None


def test_a_whole_json_body_is_observed() -> None:
    sink = _Sink()
    obs = ResponseObserver(sink=sink)
    body = {
        "id": "cmpl-9",
        "model": "m",
        "choices": [{"message": {"content": "hi"}, "finish_reason": "length"}],
        "usage": {
            "prompt_tokens": 4,
            "completion_tokens": 2,
            "prompt_tokens_details": {"cached_tokens": 1},
            "completion_tokens_details": {"reasoning_tokens": 1},
        },
    }
    obs.observe_body(json.dumps(body).encode(), 2.0)
    assert (obs.input_tokens, obs.output_tokens, obs.cached_tokens, obs.reasoning_tokens) == (
        4,
        2,
        1,
        1,
    )
    assert obs.finish_reasons == ["length"]
    assert sink.parts == ["hi"]
    obs2 = ResponseObserver()
    obs2.observe_body(b"not json", 1.0)
    assert obs2.input_tokens is None


def test_responses_api_usage_in_response_completed_is_read() -> None:
    obs = ResponseObserver()
    event = (
        b"event: response.completed\ndata: "
        + json.dumps(
            {
                "type": "response.completed",
                "response": {
                    "id": "resp_1",
                    "model": "m",
                    "usage": {"input_tokens": 5, "output_tokens": 9},
                },
            }
        ).encode()
        + b"\n\n"
    )
    delta = (
        b"event: response.output_text.delta\n"
        b'data: {"type":"response.output_text.delta","delta":"x"}\n\n'
    )
    obs.feed(delta + event)
    assert (obs.input_tokens, obs.output_tokens, obs.chunks) == (5, 9, 1)


def _feed_within(obs: ResponseObserver, reads: list[bytes], budget_s: float) -> bytes:
    """Feed ``reads``, failing as soon as the budget is spent (a quadratic feed would take
    minutes: the test must fail, not hang)."""
    out = []
    started = time.perf_counter()
    for i, data in enumerate(reads):
        out.append(obs.feed(data))
        if i % 1000 == 0:
            assert time.perf_counter() - started < budget_s, f"{i} reads took over {budget_s} s"
    assert time.perf_counter() - started < budget_s
    return b"".join(out)


def test_one_byte_reads_after_a_lone_cr_cost_linear_time() -> None:
    # One CR switches to CRLF framing; no event ever ends: every read used to re-scan it all.
    obs = ResponseObserver()
    reads = [b"data: {\r", *([b"x"] * 300_000), b"\r\n\r\n"]
    out = _feed_within(obs, reads, budget_s=3.0) + obs.flush()
    assert out == b"".join(reads)


def test_one_byte_reads_of_a_long_event_cost_linear_time() -> None:
    obs = ResponseObserver()
    reads = [b"data: ", *([b"y"] * 300_000), b"\n\n"]
    out = _feed_within(obs, reads, budget_s=3.0)
    assert out == b"".join(reads)


def test_thousands_of_usage_events_in_one_read_are_dropped_in_linear_time() -> None:
    many = USAGE * 40_000  # ~3.5 MB; each removal used to copy the whole read
    obs = ResponseObserver(strip_usage=True)
    started = time.perf_counter()
    out = obs.feed(_chunk("a") + many + _chunk("b")) + obs.flush()
    assert time.perf_counter() - started < 3.0
    assert out == _chunk("a") + _chunk("b")
    assert obs.output_tokens == 3


def test_crlf_usage_events_are_dropped_with_their_blank_lines() -> None:
    stream = STREAM.replace(b"\n\n", b"\r\n\r\n")
    obs = ResponseObserver(strip_usage=True)
    out = obs.feed(stream) + obs.flush()
    assert out == stream.replace(USAGE.replace(b"\n\n", b"\r\n\r\n"), b"")


def test_a_large_body_is_read_from_its_ends() -> None:
    head = b'{"id":"emb-1","object":"list","model":"m-big","data":[{"embedding":[0.1,'
    tail = b'0.2]}],"usage":{"prompt_tokens":11,"total_tokens":11}}'
    obs = ResponseObserver()
    obs.observe_large_body(head, tail, 1.0)
    assert (obs.response_id, obs.response_model, obs.input_tokens) == ("emb-1", "m-big", 11)
    assert obs.first_at == 1.0


_PIECES = st.sampled_from(
    [b"data: ", b"x", b"\r", b"\n", b"\r\n", b"\n\n", b"\r\n\r\n", b'{"usage":{}}', b":"]
)


@pytest.mark.fuzz
@settings(settings.get_profile("fuzz"))
@given(st.lists(st.binary(min_size=0, max_size=40) | _PIECES, max_size=40), st.data())
def test_fuzz_any_bytes_in_any_reads_pass_unchanged_and_event_aligned(
    pieces: list[bytes], data: st.DataObject
) -> None:
    stream = b"".join(pieces)
    cuts = data.draw(st.lists(st.integers(0, len(stream)), max_size=20))
    edges = [0, *sorted(cuts), len(stream)]
    obs = ResponseObserver()
    outs = [obs.feed(stream[a:b]) for a, b in itertools.pairwise(edges)]
    assert b"".join(outs) + obs.flush() == stream
    for out in outs:  # what went out ended at an event boundary
        assert not out or out.endswith((b"\n\n", b"\r\n\r\n", b"\n\r\n", b"\r\n\n"))
