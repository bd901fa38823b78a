"""llmobs probe bootstrap: put this file's directory first on PYTHONPATH to instrument an app.

Layout it expects (what ``llmobs-instrument bundle DIR`` writes, what the operator mounts)::

    DIR/bootstrap/sitecustomize.py   <- this file; DIR/bootstrap goes first on PYTHONPATH
    DIR/site-packages/...            <- the probe and its dependencies; goes last on PYTHONPATH
                                        (appended to sys.path here if the operator did not)

It removes DIR/bootstrap and DIR/site-packages from PYTHONPATH for child processes (unless
``LLMOBS_KEEP_PYTHONPATH=true``; ``multiprocessing`` spawn children still get the probe
through their preparation data: ``llmobs_probe._spawn``), runs the app's own ``sitecustomize``
if there is one further on the path, and starts the probe. Nothing here may raise into the app.
"""

import os
import sys


def _boot() -> None:
    here = os.path.dirname(os.path.abspath(__file__))
    site_packages = os.path.join(os.path.dirname(here), "site-packages")
    ours = {here, site_packages}
    if os.path.basename(os.path.dirname(here)) == "llmobs_probe":  # llmobs-instrument COMMAND
        ours.add(os.path.dirname(os.path.dirname(here)))
    keep = os.environ.get("LLMOBS_KEEP_PYTHONPATH", "").strip().lower() in ("true", "1", "yes")
    if not keep:
        entries = os.environ.get("PYTHONPATH", "").split(os.pathsep)
        kept = [p for p in entries if p and os.path.abspath(p) not in ours]
        if kept:
            os.environ["PYTHONPATH"] = os.pathsep.join(kept)
        else:
            os.environ.pop("PYTHONPATH", None)
    if os.path.isdir(site_packages) and site_packages not in sys.path:
        sys.path.append(site_packages)  # last: the app's own pinned versions win
    _chain_app_sitecustomize(here)
    if os.environ.get("LLMOBS_DISABLED", "").strip().lower() in ("true", "1", "yes"):
        return
    from llmobs_probe._distro import initialize

    if initialize() is not None and not keep:
        # Spawn children (uvicorn --workers) are the app, too: they get the probe by the
        # multiprocessing preparation data, not by PYTHONPATH (see llmobs_probe._spawn).
        from llmobs_probe._spawn import instrument_children, probe_paths

        instrument_children(probe_paths(here, site_packages))


def _chain_app_sitecustomize(here: str) -> None:
    """Import another sitecustomize further on sys.path (the app's own), if any."""
    import importlib.util

    me = sys.modules.get("sitecustomize")
    saved = list(sys.path)
    try:
        sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != here]
        spec = importlib.util.find_spec("sitecustomize") if me is None else None
        if me is not None:
            del sys.modules["sitecustomize"]
            spec = importlib.util.find_spec("sitecustomize")
        if spec is not None and spec.origin and os.path.dirname(spec.origin) != here:
            module = importlib.util.module_from_spec(spec)
            if spec.loader is not None:
                spec.loader.exec_module(module)
    finally:
        sys.path[:] = saved
        if me is not None:
            sys.modules["sitecustomize"] = me


try:
    _boot()
except Exception as _exc:  # the app must start whatever happens here
    try:
        import logging

        logging.getLogger("llmobs_probe").warning("llmobs probe not started: %r", _exc)
    except Exception:  # noqa: S110
        pass
