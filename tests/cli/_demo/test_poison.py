"""The demo's poison record: the span it sends at the start is acknowledged by a real store and
dead-lettered there (so the UI's Dead letters view has an entry), linked to a real trace of the
app, and the store goes on storing everything else."""

from pathlib import Path

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from llmobs_cli._demo._poison import POISON_SPAN_NAME, send_poison
from llmobs_cli._demo._stack import Stack
from tests.store.conftest import serve_store, store_settings
from tests.store.otlp_requests import post, span, traces


def test_the_poison_span_is_dead_lettered_and_the_rest_is_stored(tmp_path: Path) -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    with serve_store(store_settings(tmp_path)) as store:
        trace_id = send_poison(store.url, provider.get_tracer("test"))
        after = span("after the poison")
        assert post(store.url, "traces", traces(after)).status_code == 200
        store.wait_for(lambda: store.get("/api/v1/dead-letters")["total"] == 1, 30)
        store.wait_spans(1, 30)
        (letter,) = store.get("/api/v1/dead-letters")["items"]
    provider.shutdown()
    assert letter["signal"] == "traces"
    assert letter["category"] == "normalise_error"
    assert letter["reason"].startswith("RecursionError")
    assert POISON_SPAN_NAME in letter["record"]
    # Its trace is the app's own: the parent span the demo exports around the post.
    (parent,) = exporter.get_finished_spans()
    assert letter["trace_id"] == trace_id == f"{parent.context.trace_id:032x}"
    assert (parent.attributes or {})["llmobs.demo.poison.span_id"] == letter["span_id"]
    assert store.span_count() == 1  # the span after it was stored; the poison was not


def test_a_store_that_is_not_there_is_a_line_not_the_end(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from llmobs_cli._demo.app import _poison

    _poison("http://127.0.0.1:9")  # the discard port: nothing listens
    assert capsys.readouterr().out.startswith("poison span not sent: ")


def test_the_stack_tells_the_app_to_send_it_to_the_store(tmp_path: Path) -> None:
    stack = Stack(data_dir=tmp_path, store_port=4318)
    app = {s.name: s for s in stack.plan()}["app"].command
    assert app[app.index("--poison-store") + 1] == stack.store_url
