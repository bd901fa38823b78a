"""The OpenTelemetry contrib instrumentations that ship with the probe (extra ``contrib``).

Each switches on only when its target library is imported by the app (a post-import hook, so the
probe never imports a framework the app does not use, and FastAPI/Flask are patched before the
app object is created); a missing instrumentation package or an unsupported library version is
skipped with one warning. With them, an incoming request, the LLM call and the outgoing HTTP calls
are one trace, and W3C baggage (the session) crosses every hop.
"""

from __future__ import annotations

import importlib
from typing import Any, Dict, Iterable, Tuple

import wrapt

from llmobs_probe import _guard

#: name (as in OTEL_PYTHON_DISABLED_INSTRUMENTATIONS), library module, instrumentor module, class
CONTRIB: Tuple[Tuple[str, str, str, str], ...] = (
    ("requests", "requests", "opentelemetry.instrumentation.requests", "RequestsInstrumentor"),
    ("httpx", "httpx", "opentelemetry.instrumentation.httpx", "HTTPXClientInstrumentor"),
    (
        "aiohttp-client",
        "aiohttp",
        "opentelemetry.instrumentation.aiohttp_client",
        "AioHttpClientInstrumentor",
    ),
    ("fastapi", "fastapi", "opentelemetry.instrumentation.fastapi", "FastAPIInstrumentor"),
    ("starlette", "starlette", "opentelemetry.instrumentation.starlette", "StarletteInstrumentor"),
    ("flask", "flask", "opentelemetry.instrumentation.flask", "FlaskInstrumentor"),
)

_active: Dict[str, Any] = {}


def enable(disabled: Iterable[str] = ()) -> None:
    """Register a post-import hook per library (runs at once if it is already imported)."""
    off = set(disabled)
    for name, library, module, cls in CONTRIB:
        if name in off:
            continue
        wrapt.register_post_import_hook(_hook(name, module, cls), library)


def _hook(name: str, module: str, cls: str) -> Any:
    def instrument(_library: Any) -> None:
        if name in _active:
            return
        try:
            instrumentor = getattr(importlib.import_module(module), cls)()
        except ImportError:
            _guard.warn_once(
                f"contrib-{name}", "llmobs probe: %s instrumentation not installed", name
            )
            return
        try:
            instrumentor.instrument()
            _active[name] = instrumentor
        except Exception as exc:
            _guard.warn_once(f"contrib-{name}", "llmobs probe: %s not instrumented: %s", name, exc)

    return instrument


def active() -> Tuple[str, ...]:
    """Names of the contrib instrumentations switched on in this process."""
    return tuple(_active)


def disable_all() -> None:
    """Uninstrument everything switched on (tests)."""
    for instrumentor in _active.values():
        try:
            instrumentor.uninstrument()
        except Exception as exc:
            _guard.record_error("contrib uninstrument", exc)
    _active.clear()
