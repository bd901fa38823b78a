"""The family tables are well-formed: every row names its source and a known field, kind or
meaning, no name means two things, and the generated docs/conventions.md is current."""

import re
from pathlib import Path

import pytest

from llmobs_semconv import attributes as A
from llmobs_semconv import families, span_kinds
from llmobs_semconv.families import Attr, Kind, _rows
from llmobs_semconv.families._doc import render

ROOT = Path(__file__).resolve().parents[2]
# A source names a spec document or a library file: a path with a file name in it.
SOURCE = re.compile(r"\S+/\S*\.(py|md|yaml)\b|\S+\.py\b")


def _rows_of(family: families.Family) -> list[object]:
    return [
        *family.attributes,
        *family.kinds,
        *family.span_events,
        *family.log_events,
        *family.flattened,
        *family.name_suffixes,
    ]


@pytest.mark.parametrize("family", families.FAMILIES, ids=lambda f: f.name)
def test_every_row_names_its_source(family: families.Family) -> None:
    rows = _rows_of(family)
    assert rows, f"{family.name} has no rows"
    for row in rows:
        source = getattr(row, "source", "")
        assert SOURCE.search(source), f"{family.name}: {row} has no file or document as source"


@pytest.mark.parametrize("family", families.FAMILIES, ids=lambda f: f.name)
def test_rows_name_known_fields_units_kinds_and_meanings(family: families.Family) -> None:
    for attr in family.attributes:
        assert attr.field in _rows.FIELDS, attr
        if attr.field in _rows.DURATION_FIELDS:
            assert attr.unit in _rows.DURATION_UNITS, attr
        elif attr.field in _rows.CONTENT_FIELDS:
            assert attr.unit in _rows.CONTENT_FORMATS, attr
        else:
            assert attr.unit == "", attr
    for kind in family.kinds:
        assert kind.kind in span_kinds.ALL, kind
        assert kind.layer in ("", *A.LAYERS), kind
        assert kind.value, kind
    for event in family.span_events:
        assert event.meaning in _rows.SPAN_EVENT_MEANINGS, event
    for log in family.log_events:
        assert log.shape in _rows.LOG_EVENT_SHAPES, log
        assert bool(log.message_role) == (log.shape == _rows.MESSAGE), log
    for flat in family.flattened:
        assert flat.prefix.endswith("."), flat
        assert flat.field in _rows.CONTENT_FIELDS, flat
    for suffix in family.name_suffixes:
        assert suffix.field in _rows.FIELDS, suffix


def test_family_names_are_unique_and_guards_name_an_attribute() -> None:
    names = [f.name for f in families.FAMILIES]
    assert len(names) == len(set(names))
    for family in families.FAMILIES:
        if family.guard is not None:
            attribute, value = family.guard
            assert attribute
            assert value


def test_no_name_is_mapped_twice_inconsistently() -> None:
    # Across every family, guarded ones included: building the indexes checks each pair.
    every = families.attribute_index(row for f in families.FAMILIES for row in f.attributes)
    kinds = families.kind_index(row for f in families.FAMILIES for row in f.kinds)
    # Every row is what the index holds for its name (apart from where it was read).
    for family in families.FAMILIES:
        for attr in family.attributes:
            assert every[attr.name].field == attr.field, attr
        for kind in family.kinds:
            assert kinds[kind.attribute][kind.value.lower()].kind == kind.kind, kind
    # Within one family a name appears once.
    for family in families.FAMILIES:
        attrs = [a.name for a in family.attributes]
        assert len(attrs) == len(set(attrs)), family.name
        pairs = [(k.attribute, k.value.lower()) for k in family.kinds]
        assert len(pairs) == len(set(pairs)), family.name


def test_an_inconsistent_pair_is_refused() -> None:
    source = "x/y.py"
    with pytest.raises(ValueError, match="mapped twice inconsistently"):
        families.attribute_index(
            [Attr("a.b", _rows.INPUT_TOKENS, source), Attr("a.b", _rows.OUTPUT_TOKENS, source)]
        )
    with pytest.raises(ValueError, match="mapped twice inconsistently"):
        families.attribute_index(
            [
                Attr("a.ttft", _rows.TTFT, source, unit="s"),
                Attr("a.ttft", _rows.TTFT, "other/z.md", unit="ns"),
            ]
        )
    with pytest.raises(ValueError, match="mapped twice inconsistently"):
        families.kind_index(
            [
                Kind("k", "task", span_kinds.CHAIN, source),
                Kind("k", "TASK", span_kinds.TOOL, source),
            ]
        )
    # The same meaning from two sources is one row.
    same = families.attribute_index(
        [Attr("a.b", _rows.INPUT_TOKENS, source), Attr("a.b", _rows.INPUT_TOKENS, "other/z.md")]
    )
    assert list(same) == ["a.b"]


def test_the_names_users_found_unread_are_in_the_tables() -> None:
    read = set(families.ATTRIBUTES) | {name for g in families.GUARDED for name in g.attributes}
    for name in (
        "gen_ai.provider.name",
        "gen_ai.conversation.id",
        "gen_ai.response.time_to_first_chunk",
        "gen_ai.usage.cache_read.input_tokens",
        "gen_ai.usage.cache_creation.input_tokens",
        "gen_ai.usage.reasoning.output_tokens",
        "gen_ai.retrieval.query.text",
        "gen_ai.system",
        "gen_ai.usage.prompt_tokens",
        "gen_ai.usage.completion_tokens",
        "embedding.model_name",
        "llm.model_name",
        "llm.token_count.prompt_details.cache_read",
        "gen_ai.server.time_to_first_token",
        "gen_ai.server.time_per_output_token",
        "gen_ai.usage.cost",
        "gen_ai.request.user",
        "traceloop.association.properties.session_id",
        "traceloop.association.properties.user_id",
        "gen_ai.user",
        "gen_ai.session.id",
        "gen_ai.user.id",
        "gen_ai.usage.total_tokens",
        "traceloop.entity.input",
        "traceloop.entity.output",
        "gen_ai.task.input",
        "gen_ai.task.output",
        "input.value",
        "output.value",
        "gen_ai.input.messages",
        "gen_ai.output.messages",
        "mcp.session.id",
        "gen_ai.latency.time_to_first_token",
        "inputs",
        "llm.usage.prompt_tokens",
    ):
        assert name in read, name
    for attribute in (
        "gen_ai.operation.name",
        "openinference.span.kind",
        "traceloop.span.kind",
        "llm.request.type",
        "gen_ai.span.kind",
        "mcp.method.name",
    ):
        assert attribute in families.KINDS, attribute
    operations = families.KINDS["gen_ai.operation.name"]
    for operation in ("invoke_agent", "invoke_workflow", "execute_tool", "retrieval"):
        assert operation in operations
    for operation in ("create_agent", "embeddings", "apply_guardrail", "search_memory"):
        assert operation in operations
    assert set(families.KINDS["gen_ai.span.kind"]) >= {
        "agent", "llm", "embedding", "tool", "retriever", "reranker", "memory", "entry", "step",
    }  # fmt: skip
    assert {"first token stream event", "gen_ai.content.completion.chunk"} <= {
        name.lower() for name in families.SPAN_EVENTS
    }
    assert {"gen_ai.client.inference.operation.details", "gen_ai.user.message"} <= set(
        families.LOG_EVENTS
    )
    assert {"gen_ai.system.message", "gen_ai.assistant.message", "gen_ai.tool.message"} <= set(
        families.LOG_EVENTS
    )
    assert "gen_ai.choice" in families.LOG_EVENTS


def test_operation_kinds_for_producers_come_from_the_tables() -> None:
    for value, row in families.KINDS["gen_ai.operation.name"].items():
        assert span_kinds.from_operation(value) == row.kind
    assert span_kinds.from_operation("chat") == span_kinds.LLM
    assert span_kinds.from_operation("no-such-operation") is None
    assert span_kinds.from_operation(None) is None


def test_docs_conventions_is_generated_from_the_tables() -> None:
    page = (ROOT / "docs" / "conventions.md").read_text(encoding="utf-8")
    assert page == render(families.FAMILIES), (
        "docs/conventions.md is stale: python -m llmobs_semconv.families > docs/conventions.md"
    )
    for family in families.FAMILIES:
        assert f"(`{family.name}`)" in page
