"""Light spans for LLM calls: the SDK's sampling and ids on the request path, the rest deferred.

An SDK span copies and validates its attributes under a lock at start, at every ``set_*`` and
again into a ``ReadableSpan`` at ``end()``; for an LLM call that is most of the probe's cost. A
:class:`LightSpan` takes the same sampling decision (the provider's sampler, with the parent from
the current context) and the same ids (the provider's id generator), so ``traceparent``, content
records and child spans are exactly as with an SDK span; but its attributes are a plain dict, and
the ``ReadableSpan`` the exporters need is built by the export worker (:meth:`LightSpan.readable`).
The instrumentation makes it current only while the SDK sends the request (one context
attach/detach), so an HTTP client instrumentation's span (httpx) is its child and the
``traceparent`` that instrumentation injects carries the LLM call's trace: one call, one trace.
"""

from __future__ import annotations

import time
from typing import Any, Dict, Mapping, Optional, Sequence

from opentelemetry import baggage, context
from opentelemetry import trace as trace_api
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import NonRecordingSpan, SpanContext, SpanKind, TraceFlags
from opentelemetry.trace.status import Status, StatusCode

from llmobs_semconv import attributes as A

_SAMPLED = TraceFlags(TraceFlags.SAMPLED)
_UNSET = Status(StatusCode.UNSET)


class LightTracer:
    """Starts :class:`LightSpan` s with an SDK tracer's sampler, id generator and resource."""

    def __init__(self, sdk_tracer: Any, put: Any, name: str, version: str) -> None:
        from opentelemetry.sdk.util.instrumentation import InstrumentationScope

        self._sampler = sdk_tracer.sampler
        self._ids = sdk_tracer.id_generator
        self.resource = sdk_tracer.resource
        self.scope = InstrumentationScope(name, version)
        self._put = put  # the export worker's put_span

    def start_span(
        self,
        name: str,
        kind: SpanKind = SpanKind.INTERNAL,
        attributes: Optional[Dict[str, Any]] = None,
    ) -> trace_api.Span:
        """A recording LightSpan, or a NonRecordingSpan when the sampler says no."""
        ctx = context.get_current()
        current = trace_api.get_current_span(ctx).get_span_context()
        parent: Optional[SpanContext] = current if current.is_valid else None
        trace_id = current.trace_id if parent is not None else self._ids.generate_trace_id()
        attrs = attributes if attributes is not None else {}
        result = self._sampler.should_sample(ctx, trace_id, name, kind, attrs)
        trace_state = result.trace_state
        if trace_state is None and parent is not None:
            trace_state = parent.trace_state
        span_id = self._ids.generate_span_id()
        if not result.decision.is_sampled():
            flags = TraceFlags(TraceFlags.DEFAULT)
            return NonRecordingSpan(SpanContext(trace_id, span_id, False, flags, trace_state))
        if result.attributes:
            attrs.update(result.attributes)
        entries = baggage.get_all(ctx)
        if entries:
            session = entries.get(A.BAGGAGE_SESSION_ID)
            if session:
                attrs[A.SESSION_ID] = str(session)
                attrs[A.GEN_AI_CONVERSATION_ID] = str(session)
            user = entries.get(A.BAGGAGE_USER_ID)
            if user:
                attrs[A.USER_ID] = str(user)
        sc = SpanContext(trace_id, span_id, False, _SAMPLED, trace_state)
        return LightSpan(self, name, sc, parent=parent, kind=kind, attributes=attrs)


class LightSpan(trace_api.Span):
    """A recording span whose attributes are a dict until the export worker reads them."""

    __slots__ = (
        "_attrs",
        "_context",
        "_end",
        "_kind",
        "_name",
        "_parent",
        "_start",
        "_status",
        "_tracer",
    )

    def __init__(
        self,
        tracer: LightTracer,
        name: str,
        span_context: SpanContext,
        *,
        parent: Optional[SpanContext],
        kind: SpanKind,
        attributes: Dict[str, Any],
    ) -> None:
        self._tracer = tracer
        self._name = name
        self._context = span_context
        self._parent = parent
        self._kind = kind
        self._attrs = attributes
        self._status = _UNSET
        self._start = time.time_ns()
        self._end: Optional[int] = None

    # -------------------------------------------------------------- the API we implement
    def get_span_context(self) -> SpanContext:
        return self._context

    def is_recording(self) -> bool:
        return self._end is None

    def set_attribute(self, key: str, value: Any) -> None:
        if self._end is None:
            self._attrs[key] = value

    def set_attributes(self, attributes: Mapping[str, Any]) -> None:
        if self._end is None:
            self._attrs.update(attributes)

    def set_status(self, status: Any, description: Optional[str] = None) -> None:
        if self._end is None:
            self._status = status if isinstance(status, Status) else Status(status, description)

    def update_name(self, name: str) -> None:
        self._name = name

    def add_event(self, name: str, attributes: Any = None, timestamp: Optional[int] = None) -> None:
        """Events are not recorded on LLM spans (content travels as log records)."""

    def add_link(self, context: Any, attributes: Any = None) -> None:
        """Links are not recorded on LLM spans."""

    def record_exception(
        self,
        exception: BaseException,
        attributes: Any = None,
        timestamp: Optional[int] = None,
        escaped: bool = False,
    ) -> None:
        """The exception's type is recorded as ``error.type`` by the caller."""

    def end(self, end_time: Optional[int] = None) -> None:
        if self._end is not None:
            return
        self._end = end_time if end_time is not None else time.time_ns()
        self._tracer._put(self)

    # -------------------------------------------------------------- export worker side
    def readable(self) -> ReadableSpan:
        """The SDK ``ReadableSpan`` the exporters encode (built on the export worker)."""
        tracer = self._tracer
        return ReadableSpan(
            name=self._name,
            context=self._context,
            parent=self._parent,
            resource=tracer.resource,
            attributes=_clean(self._attrs),
            kind=self._kind,
            status=self._status,
            start_time=self._start,
            end_time=self._end,
            instrumentation_scope=tracer.scope,
        )


def _clean(attrs: Dict[str, Any]) -> Dict[str, Any]:
    """Only OTLP-encodable values (str, bool, int, float, and sequences of one of those)."""
    out: Dict[str, Any] = {}
    for key, value in attrs.items():
        if value is None:
            continue
        if isinstance(value, (str, bool, int, float)):
            out[key] = value
        elif isinstance(value, (list, tuple)):
            out[key] = tuple(_Seq.clean(value))
        else:
            out[key] = str(value)
    return out


class _Seq:
    @staticmethod
    def clean(values: Sequence[Any]) -> Sequence[Any]:
        return [v if isinstance(v, (str, bool, int, float)) else str(v) for v in values]
