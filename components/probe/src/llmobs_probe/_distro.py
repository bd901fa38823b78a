"""Start the probe in this process: settings, pipeline, instrumentations. Never raises.

Called by ``sitecustomize`` (bootstrap directory on PYTHONPATH) and by :func:`llmobs_probe.start`.
A bad setting is logged once, naming the variable, and leaves the probe off; any other failure is
counted and leaves the probe off. ``LLMOBS_DISABLED=true`` makes this a no-op.
"""

from __future__ import annotations

import atexit
import threading
from typing import Any, Mapping, Optional

from llmobs_probe import _guard
from llmobs_probe._settings import ProbeSettings, SettingsError


class Probe:
    """The running probe of this process."""

    def __init__(self, settings: ProbeSettings, pipeline: Any, runtime: Any, openai: Any) -> None:
        self.settings = settings
        self.pipeline = pipeline
        self.runtime = runtime
        self.openai = openai

    def flush(self) -> None:
        """Export everything queued now (blocking; for tests and short scripts)."""
        self.pipeline.force_flush()

    def shutdown(self) -> None:
        """Flush within the shutdown timeout and remove the instrumentation."""
        try:
            self.openai.uninstrument()
        finally:
            self.pipeline.shutdown()


_lock = threading.Lock()
_probe: Optional[Probe] = None


def current() -> Optional[Probe]:
    """The probe started in this process, if any."""
    return _probe


def initialize(
    env: Optional[Mapping[str, str]] = None, install_globals: bool = True
) -> Optional[Probe]:
    """Start the probe once per process; returns it, or None when off or misconfigured."""
    global _probe  # noqa: PLW0603  # one probe per process, by design
    with _lock:
        if _probe is not None:
            return _probe
        try:
            settings = ProbeSettings.from_env(env)
        except SettingsError as exc:
            _guard.logger.error("llmobs probe disabled: %s", exc)
            return None
        if settings.disabled:
            return None
        try:
            _probe = _build(settings, install_globals)
        except Exception as exc:
            _guard.record_error("probe start", exc)
            return None
        return _probe


def _build(settings: ProbeSettings, install_globals: bool) -> Probe:
    if settings.gevent_patch == "patch_all":
        # Before anything else opens sockets or threads (our worker is created lazily).
        from gevent import monkey

        monkey.patch_all()
    from llmobs_probe._content import ContentSink
    from llmobs_probe._pipeline import Pipeline
    from llmobs_probe._redaction import Redactor, load_hook
    from llmobs_probe._runtime import Runtime
    from llmobs_probe.instrumentation.openai import OpenAIInstrumentor
    from llmobs_semconv.pricing import PriceTable

    prices = None
    if settings.prices_file:
        try:
            with open(settings.prices_file, encoding="utf-8") as fh:
                prices = PriceTable.from_json(fh.read())
        except (OSError, ValueError) as exc:
            raise SettingsError(f"LLMOBS_PRICES_FILE={settings.prices_file!r}: {exc}") from None
    hook = load_hook(settings.redaction_hook) if settings.redaction_hook else None
    pipeline = Pipeline(settings)
    if install_globals:
        pipeline.install()
    sink = None
    if settings.capture_content and pipeline.logger_provider is not None:
        sink = ContentSink(
            pipeline.logger_provider, Redactor(settings.redact, hook), settings.content_buffer_bytes
        )
    from llmobs_probe import __version__
    from llmobs_probe._lightspan import LightTracer

    sdk_tracer = pipeline.tracer_provider.get_tracer("llmobs_probe", __version__)
    runtime = Runtime(
        LightTracer(sdk_tracer, pipeline.worker.put_span, "llmobs_probe", __version__),
        pipeline.meter_provider.get_meter("llmobs_probe", __version__),
        enqueue=pipeline.worker.put_measurement,
        content=sink,
        prices=prices,
        provider_name=settings.provider_name,
    )
    pipeline.worker.set_fold(runtime.fold)
    openai = OpenAIInstrumentor()
    if "openai" not in settings.disabled_instrumentations:
        import wrapt

        def instrument_openai(_module: Any) -> None:
            try:
                openai.instrument(runtime)
            except Exception as exc:
                _guard.record_error("openai instrument", exc)

        wrapt.register_post_import_hook(instrument_openai, "openai")
    try:
        from llmobs_probe import _contrib

        _contrib.enable(settings.disabled_instrumentations)
    except ImportError:
        pass
    atexit.register(pipeline.shutdown)
    return Probe(settings, pipeline, runtime, openai)


def reset_for_tests() -> None:
    """Forget the running probe (its instrumentation removed) so a test can start another."""
    global _probe  # noqa: PLW0603
    with _lock:
        if _probe is not None:
            _probe.openai.uninstrument()
            _probe.pipeline.shutdown()
        _probe = None
