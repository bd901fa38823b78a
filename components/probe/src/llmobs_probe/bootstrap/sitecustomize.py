"""llmobs probe bootstrap: put this file's directory first on PYTHONPATH to instrument an app.

Layout it expects (what ``llmobs-instrument bundle DIR`` writes, what the operator mounts)::

    DIR/bootstrap/sitecustomize.py   <- this file; DIR/bootstrap goes first on PYTHONPATH
    DIR/site-packages/...            <- the probe and its dependencies; goes last on PYTHONPATH
                                        (appended to sys.path here if the operator did not)

It removes DIR/bootstrap and DIR/site-packages from PYTHONPATH for child processes (unless
``LLMOBS_KEEP_PYTHONPATH=true``; ``multiprocessing`` spawn children still get the probe
through their preparation data: ``llmobs_probe._spawn``), runs the app's own ``sitecustomize``
if there is one further on the path, and starts the probe. Nothing here may raise into the app.

Under ``llmobs-instrument COMMAND`` the interpreter may be another environment's: the launcher
names its import roots (``LLMOBS_INSTRUMENT_PATHS``, appended here after the app's own
site-packages) and its Python (``LLMOBS_INSTRUMENT_PYTHON``); on a different Python the probe is
not started and one line says to install it there or to build a bundle for that Python.
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
    # Set by ``llmobs-instrument COMMAND``: where its installation imports the probe from, and
    # for which Python (this interpreter may be another environment's).
    roots = [p for p in os.environ.get("LLMOBS_INSTRUMENT_PATHS", "").split(os.pathsep) if p]
    launcher = os.environ.get("LLMOBS_INSTRUMENT_PYTHON", "")
    if not keep:
        os.environ.pop("LLMOBS_INSTRUMENT_PATHS", None)
        os.environ.pop("LLMOBS_INSTRUMENT_PYTHON", None)
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
    if launcher and launcher != _python_tag():
        # Another Python cannot load the launcher's compiled dependencies: say what works instead
        # of failing on an import, and leave sys.path as the app had it.
        sys.stderr.write(
            f"llmobs probe not started: llmobs-instrument is installed for {launcher} but "
            f"{sys.executable} is {_python_tag()}; install llmobs-probe into that environment, "
            f"or build a bundle for it (llmobs-instrument bundle DIR --python-version "
            f"{sys.version_info[0]}.{sys.version_info[1]}) and run it with "
            f"PYTHONPATH=DIR/bootstrap\n"
        )
        return
    for root in roots:
        if root not in sys.path:
            sys.path.append(root)  # last, as site_packages above
    from llmobs_probe._distro import initialize

    if initialize() is not None and not keep:
        # Spawn children (uvicorn --workers) are the app, too: they get the probe by the
        # multiprocessing preparation data, not by PYTHONPATH (see llmobs_probe._spawn).
        from llmobs_probe._spawn import instrument_children, probe_paths

        instrument_children(probe_paths(here, site_packages, roots))


def _python_tag() -> str:
    """As ``llmobs_probe.cli.python_tag`` (not imported: the probe may not be importable yet)."""
    threaded = "t" if "t" in getattr(sys, "abiflags", "") else ""
    return f"{sys.implementation.name}-{sys.version_info[0]}.{sys.version_info[1]}{threaded}"


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
