"""The stream observer: bytes pass unchanged (event-aligned), numbers are read on the side."""

import itertools
import json

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
