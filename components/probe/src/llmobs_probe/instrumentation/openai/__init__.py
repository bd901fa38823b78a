"""OpenAI SDK (>= 1.0) instrumentation: chat completions, completions, embeddings, responses.

Wraps the resource classes' ``create`` (sync and async) with wrapt, so ``with_raw_response`` and
``with_streaming_response`` (which call the same bound ``create``) are covered too, and wraps the
client's ``_build_request`` to count SDK retries and to carry ``traceparent`` and the session
baggage on every attempt (the SDK's HTTP client is not one the contrib instrumentations know).
The user's call is made exactly once, with the arguments they gave: our code runs before and after
it, inside ``try`` blocks that count our failures and never raise them.
"""

from __future__ import annotations

import contextvars
import importlib
from typing import Any, Callable, Dict, List, Optional, Tuple
from urllib.parse import urlsplit

import wrapt
from opentelemetry import baggage, context, trace
from opentelemetry.trace import SpanKind

from llmobs_probe import _guard
from llmobs_probe._call import Call
from llmobs_probe._runtime import Runtime
from llmobs_probe.instrumentation.openai import _handlers as H
from llmobs_probe.instrumentation.openai._streams import AsyncStream, Proxy, SyncStream
from llmobs_semconv import attributes as A
from llmobs_semconv import chunks

try:
    from opentelemetry.context import _SUPPRESS_INSTRUMENTATION_KEY as _SUPPRESS
except ImportError:  # pragma: no cover
    _SUPPRESS = context.create_key("suppress_instrumentation")

#: (module, class, handler, async)
_TARGETS: Tuple[Tuple[str, str, Any, bool], ...] = (
    ("openai.resources.chat.completions", "Completions", H.Chat, False),
    ("openai.resources.chat.completions", "AsyncCompletions", H.Chat, True),
    ("openai.resources.completions", "Completions", H.TextCompletion, False),
    ("openai.resources.completions", "AsyncCompletions", H.TextCompletion, True),
    ("openai.resources.embeddings", "Embeddings", H.Embeddings, False),
    ("openai.resources.embeddings", "AsyncEmbeddings", H.Embeddings, True),
    ("openai.resources.responses", "Responses", H.Responses, False),
    ("openai.resources.responses", "AsyncResponses", H.Responses, True),
)

_KNOWN_PROVIDERS = (
    ("openai.azure.com", "azure.ai.openai"),
    ("api.deepseek.com", "deepseek"),
    ("dashscope", "alibaba_cloud"),
    ("api.mistral.ai", "mistral_ai"),
    ("api.groq.com", "groq"),
    ("api.x.ai", "x_ai"),
    ("api.perplexity.ai", "perplexity"),
)

# Resolved at instrument time: the SDK's raw-response and stream classes.
_RAW_TYPES: Tuple[type, ...] = ()
_STREAM_TYPES: Tuple[type, ...] = ()

# The call in flight on this task/thread: _build_request counts its attempts and stamps headers.
_current: contextvars.ContextVar[Optional[Call]] = contextvars.ContextVar(
    "llmobs_openai_call", default=None
)


def provider_for(base_url: Any, override: Optional[str]) -> str:
    """``gen_ai.provider.name``: the override, else guessed from the host, else ``openai``."""
    if override:
        return override
    host = str(base_url)
    for needle, name in _KNOWN_PROVIDERS:
        if needle in host:
            return name
    return "openai"


class OpenAIInstrumentor:
    """Instrument / uninstrument the ``openai`` package (really unwraps)."""

    name = "openai"

    def __init__(self) -> None:
        self._patched: List[Tuple[Any, str]] = []

    def instrument(self, rt: Runtime) -> bool:
        """Wrap the SDK; returns False (after one warning) when the version is unsupported."""
        try:
            import openai
        except ImportError:
            return False
        version = str(getattr(openai, "__version__", "0"))
        if int(version.split(".", maxsplit=1)[0] or 0) < 1:
            _guard.warn_once(
                "openai-version", "llmobs probe: openai %s < 1.0 is not instrumented", version
            )
            return False
        _resolve_types()
        for module_name, class_name, handler, is_async in _TARGETS:
            try:
                owner = getattr(importlib.import_module(module_name), class_name)
            except (ImportError, AttributeError):
                continue  # an API this SDK version does not have
            factory = _async_wrapper if is_async else _sync_wrapper
            self._wrap(owner, "create", factory(rt, handler))
        try:
            from openai._base_client import BaseClient

            self._wrap(BaseClient, "_build_request", _build_request_wrapper)
        except (ImportError, AttributeError):
            _guard.warn_once("openai-build-request", "llmobs probe: openai retries are not counted")
        return True

    def _wrap(self, owner: Any, attr: str, wrapper: Callable[..., Any]) -> None:
        original = owner.__dict__.get(attr)
        if original is None or isinstance(original, wrapt.FunctionWrapper):
            return
        wrapt.wrap_function_wrapper(owner, attr, wrapper)
        self._patched.append((owner, attr))

    def uninstrument(self) -> None:
        """Restore every original method."""
        for owner, attr in reversed(self._patched):
            wrapped = owner.__dict__.get(attr)
            if isinstance(wrapped, wrapt.FunctionWrapper):
                setattr(owner, attr, wrapped.__wrapped__)
        self._patched.clear()


_endpoints: Dict[Tuple[int, int], Tuple[str, Optional[str]]] = {}


def _endpoint(resource: Any, override: Optional[str]) -> Tuple[str, Optional[str]]:
    """(provider, server host) of the resource's client, cached per (client, base URL object)."""
    client = getattr(resource, "_client", None)
    base_url = getattr(client, "base_url", "")
    key = (id(client), id(base_url))
    try:
        return _endpoints[key]
    except KeyError:
        if len(_endpoints) > 256:  # clients come and go: keep it bounded
            _endpoints.clear()
        host = getattr(base_url, "host", None)
        if not isinstance(host, str):
            host = urlsplit(str(base_url)).hostname
        found = _endpoints[key] = (provider_for(base_url, override), host or None)
        return found


def _resolve_types() -> None:
    global _RAW_TYPES, _STREAM_TYPES  # noqa: PLW0603  # resolved once, read per call
    raw: List[type] = []
    for module_name, names in (
        ("openai._legacy_response", ("LegacyAPIResponse",)),
        ("openai._response", ("APIResponse", "AsyncAPIResponse")),
    ):
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue
        raw.extend(getattr(module, n) for n in names if hasattr(module, n))
    _RAW_TYPES = tuple(raw)
    import openai

    _STREAM_TYPES = tuple(
        t for t in (getattr(openai, "Stream", None), getattr(openai, "AsyncStream", None)) if t
    )


def _start(rt: Runtime, handler: Any, instance: Any, kwargs: Any) -> Optional[Call]:
    """Open the span for one call; None when instrumentation is suppressed or fails."""
    try:
        if context.get_value(_SUPPRESS):
            return None
        model = kwargs.get("model")
        model = model if isinstance(model, str) else None
        provider, server = _endpoint(instance, rt.provider_name)
        operation = handler.operation
        attrs = {
            A.GEN_AI_OPERATION_NAME: operation,
            A.GEN_AI_PROVIDER_NAME: provider,
            A.LLMOBS_LAYER: A.LAYER_APP,
        }
        if model:
            attrs[A.GEN_AI_REQUEST_MODEL] = model
        if server:
            attrs[A.SERVER_ADDRESS] = server
        stream = kwargs.get("stream") is True
        if stream:
            attrs[A.GEN_AI_REQUEST_STREAM] = True
        H.request_attributes(kwargs, attrs)
        span = rt.tracer.start_span(
            f"{operation} {model}" if model else operation, kind=SpanKind.CLIENT, attributes=attrs
        )
        call = Call(rt, span, operation, provider, model)
        call.server = server
        call.stream = stream
        _propagate(span, kwargs)
        call.prompt = handler.prompt(kwargs)
        sink = rt.content
        if sink is not None and span.is_recording():
            text = handler.input_text(kwargs)
            if text:
                sink.send(
                    text,
                    span,
                    chunks.ROLE_INPUT,
                    chunks.FORMAT_JSON if operation == A.OP_CHAT else chunks.FORMAT_TEXT,
                )
            if stream:
                call.out = sink.open(span, chunks.ROLE_OUTPUT)
        return call
    except Exception as exc:
        _guard.record_error("openai call start", exc)
        return None


def _after(call: Call, handler: Any, result: Any, is_async: bool) -> Any:
    """Handle the SDK's return value: a stream (proxied), a raw response, or a parsed object."""
    try:
        if isinstance(result, _RAW_TYPES):
            return _raw(call, handler, result, is_async)
        if call.stream or isinstance(result, _STREAM_TYPES):
            call.stream = True
            proxy = AsyncStream if is_async else SyncStream
            return proxy(result, call, handler.chunk)
        handler.response(call, result)
        call.finish()
    except Exception as exc:
        _guard.record_error("openai call end", exc)
        call.finish()
    return result


def _raw(call: Call, handler: Any, raw: Any, is_async: bool) -> Any:
    """``with_raw_response``: parse eagerly when the body is already read; else end with status."""
    from openai._legacy_response import LegacyAPIResponse

    if isinstance(raw, LegacyAPIResponse) and not call.stream:
        handler.response(call, raw.parse())  # parse() caches: the user's parse() gets the same
        call.finish()
        return raw
    if isinstance(raw, LegacyAPIResponse):
        return _RawStreamResponse(raw, call, handler, is_async)
    call.finish()  # with_streaming_response: the body is the user's to read
    return raw


class _RawStreamResponse(Proxy):
    """A raw streaming response whose ``parse()`` returns our stream proxy."""

    def __init__(self, raw: Any, call: Call, handler: Any, is_async: bool) -> None:
        super().__init__(raw)
        self._self_call = call
        self._self_handler = handler
        self._self_async = is_async

    def parse(self, *args: Any, **kwargs: Any) -> Any:
        stream = self.__wrapped__.parse(*args, **kwargs)
        proxy = AsyncStream if self._self_async else SyncStream
        return proxy(stream, self._self_call, self._self_handler.chunk)


def _sync_wrapper(rt: Runtime, handler: Any) -> Callable[..., Any]:
    def wrapper(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
        call = _start(rt, handler, instance, kwargs)
        if call is None:
            return wrapped(*args, **kwargs)
        token = _current.set(call)
        # The LLM span is current while the SDK sends, so an HTTP client instrumentation's span
        # (httpx) is its child and the traceparent it injects carries this call's trace.
        active = context.attach(trace.set_span_in_context(call.span))
        try:
            result = wrapped(*args, **kwargs)
        except BaseException as exc:
            call.finish(error=exc)
            raise
        finally:
            context.detach(active)
            _current.reset(token)
        return _after(call, handler, result, False)

    return wrapper


def _async_wrapper(rt: Runtime, handler: Any) -> Callable[..., Any]:
    def wrapper(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
        async def run() -> Any:
            call = _start(rt, handler, instance, kwargs)
            if call is None:
                return await wrapped(*args, **kwargs)
            token = _current.set(call)
            active = context.attach(trace.set_span_in_context(call.span))  # as in the sync one
            try:
                result = await wrapped(*args, **kwargs)
            except BaseException as exc:
                call.finish(error=exc)
                raise
            finally:
                context.detach(active)
                _current.reset(token)
            return _after(call, handler, result, True)

        return run()

    return wrapper


def _propagate(span: Any, kwargs: Any) -> None:
    """``traceparent`` and the session baggage, through the SDK's own ``extra_headers`` (a new
    dict: the caller's is never mutated; a header the caller set wins). Every attempt, retries
    included, carries them; setting them on the built request instead costs far more per call."""
    sc = span.get_span_context()
    if not sc.is_valid:
        return
    given = kwargs.get("extra_headers")
    headers = dict(given) if given else {}
    lower = {str(k).lower() for k in headers} if headers else ()
    if "traceparent" not in lower:
        headers["traceparent"] = (
            f"00-{sc.trace_id:032x}-{sc.span_id:016x}-{int(sc.trace_flags):02x}"
        )
    if sc.trace_flags.sampled:
        # This call is recorded here: a gateway on the way marks its own span of it, so the store
        # counts the call's requests, tokens and cost once.
        headers[A.HEADER_CALLER_SPAN_ID] = f"{sc.span_id:016x}"
    entries = baggage.get_all()
    if entries and "baggage" not in lower:
        headers["baggage"] = ",".join(f"{k}={_quote(str(v))}" for k, v in entries.items())
    kwargs["extra_headers"] = headers


def _build_request_wrapper(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
    call = _current.get()
    if call is not None:
        call.attempts += 1  # one per attempt: the SDK builds a request for each
    return wrapped(*args, **kwargs)


def _quote(value: str) -> str:
    from urllib.parse import quote

    return quote(value, safe="")
