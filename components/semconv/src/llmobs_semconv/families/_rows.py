"""The row types of the family tables: what one name of one instrumentation family means to us.

Every row says where its name comes from (``source``: a spec document or a library file), so a
reader can check it and a change upstream can be followed. The store's normaliser reads these
tables; nothing here knows how spans are stored.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

# --- Fields of the llmobs span model an attribute can fill ---
PROVIDER: Final = "provider"
REQUEST_MODEL: Final = "request_model"
RESPONSE_MODEL: Final = "response_model"
MODEL: Final = "model"  # names both request and response model when they are not given apart
INPUT_TOKENS: Final = "input_tokens"
OUTPUT_TOKENS: Final = "output_tokens"
TOTAL_TOKENS: Final = "total_tokens"  # fills the missing one of input/output: total - the other
CACHED_TOKENS: Final = "cached_tokens"  # input tokens read from the provider's cache
CACHE_CREATION_TOKENS: Final = "cache_creation_tokens"  # input tokens written to it
REASONING_TOKENS: Final = "reasoning_tokens"
TTFT: Final = "ttft"  # a duration: unit says s, ms or ns
TPOT: Final = "tpot"
TBT_MAX: Final = "tbt_max"
TBT_P95: Final = "tbt_p95"
COST_USD: Final = "cost_usd"
INPUT_COST_USD: Final = "input_cost_usd"
OUTPUT_COST_USD: Final = "output_cost_usd"
SESSION_ID: Final = "session_id"
USER_ID: Final = "user_id"
TOOL_NAME: Final = "tool_name"
TOOL_ARGUMENTS: Final = "tool_arguments"
FINISH_REASONS: Final = "finish_reasons"
ERROR_TYPE: Final = "error_type"
STATUS_CODE: Final = "status_code"
LAYER: Final = "layer"
CALLER_SPAN_ID: Final = "caller_span_id"  # the span is the same call as its caller's: count once
# Content: moved off the span into the content table (one record per span and role).
CONTENT_INPUT: Final = "content_input"
CONTENT_OUTPUT: Final = "content_output"
CONTENT_SYSTEM: Final = "content_system"  # system instructions: led into the input messages

FIELDS: Final[tuple[str, ...]] = (
    PROVIDER, REQUEST_MODEL, RESPONSE_MODEL, MODEL, INPUT_TOKENS, OUTPUT_TOKENS, TOTAL_TOKENS,
    CACHED_TOKENS, CACHE_CREATION_TOKENS, REASONING_TOKENS, TTFT, TPOT, TBT_MAX, TBT_P95,
    COST_USD, INPUT_COST_USD, OUTPUT_COST_USD, SESSION_ID, USER_ID, TOOL_NAME, TOOL_ARGUMENTS,
    FINISH_REASONS, ERROR_TYPE, STATUS_CODE, LAYER, CALLER_SPAN_ID, CONTENT_INPUT,
    CONTENT_OUTPUT, CONTENT_SYSTEM,
)  # fmt: skip
DURATION_FIELDS: Final[tuple[str, ...]] = (TTFT, TPOT, TBT_MAX, TBT_P95)
CONTENT_FIELDS: Final[tuple[str, ...]] = (CONTENT_INPUT, CONTENT_OUTPUT, CONTENT_SYSTEM)

#: Units of a duration attribute, as the factor to milliseconds.
DURATION_UNITS: Final = {"s": 1000.0, "ms": 1.0, "ns": 1e-6}
#: Formats of a content attribute (the content record's format).
CONTENT_FORMATS: Final[tuple[str, ...]] = ("text", "json")

# --- What a span event means ---
FIRST_TOKEN: Final = "first_token"  # its time (the first one's) is the first token: TTFT
EXCEPTION: Final = "exception"  # attributes exception.message / exception.type: the error
CONTENT: Final = "content"  # attributes carry content, read with the attribute tables
SPAN_EVENT_MEANINGS: Final[tuple[str, ...]] = (FIRST_TOKEN, EXCEPTION, CONTENT)

# --- How a log event (OTLP log record with an event name) carries content ---
DETAILS: Final = "details"  # attributes carry input/output/system messages (attribute tables)
MESSAGE: Final = "message"  # the body is one input message; the event name gives its role
CHOICE: Final = "choice"  # the body is one output choice: {index, finish_reason, message}
LOG_EVENT_SHAPES: Final[tuple[str, ...]] = (DETAILS, MESSAGE, CHOICE)


@dataclass(frozen=True)
class Attr:
    """A span attribute that fills one field of the span model.

    ``rank`` decides between attributes naming the same field: the highest present wins (a
    family's own explicit name over a generic or deprecated one). ``unit`` is the duration unit
    (``s``, ``ms``, ``ns``) of a duration field, or the format (``text``, ``json``) of content.
    """

    name: str
    field: str
    source: str
    rank: int = 50
    unit: str = ""


@dataclass(frozen=True)
class Kind:
    """A value of a span attribute that names the span's kind (``value`` ``*``: any value).

    The highest-ranked match among a span's attributes decides: a family's explicit kind
    attribute outranks an operation name, which outranks a hint such as a marker attribute.
    ``layer`` optionally says where such spans are recorded (e.g. the model server).
    """

    attribute: str
    value: str
    kind: str
    source: str
    rank: int = 50
    layer: str = ""


@dataclass(frozen=True)
class SpanEvent:
    """A span event name and what it means (``FIRST_TOKEN``, ``EXCEPTION`` or ``CONTENT``)."""

    name: str
    meaning: str
    source: str


@dataclass(frozen=True)
class LogEvent:
    """A log event that carries a span's content (``DETAILS``, ``MESSAGE`` or ``CHOICE``).

    ``message_role`` is the chat role of a ``MESSAGE`` event (``user``, ``system``, ...).
    """

    name: str
    shape: str
    source: str
    message_role: str = ""


@dataclass(frozen=True)
class Flattened:
    """Messages (or documents) flattened into indexed attributes: ``PREFIX<n>.<path>``.

    Item ``n`` is rebuilt from its dotted paths (numeric segments become lists), dropping the
    ``wrappers`` segments the family nests every item in (e.g. OpenInference's ``message.``),
    and the items become the JSON content of ``field``.
    """

    prefix: str
    field: str
    source: str
    rank: int = 50
    wrappers: tuple[str, ...] = ()


@dataclass(frozen=True)
class NameSuffix:
    """A field read from the span name: the text after ``<value> `` when ``attribute`` is
    ``value`` and no attribute gave the field (MCP names its spans ``{method} {target}``)."""

    attribute: str
    value: str
    field: str
    source: str


@dataclass(frozen=True)
class Family:
    """One instrumentation family's tables.

    ``guard`` (attribute, value) limits the family to spans carrying that attribute value, for
    families whose names are too generic to read on every span (PromptFlow's ``inputs``).
    """

    name: str
    title: str
    attributes: tuple[Attr, ...] = ()
    kinds: tuple[Kind, ...] = ()
    span_events: tuple[SpanEvent, ...] = ()
    log_events: tuple[LogEvent, ...] = ()
    flattened: tuple[Flattened, ...] = ()
    name_suffixes: tuple[NameSuffix, ...] = ()
    guard: tuple[str, str] | None = None
