"""llmobs probe dispatcher: the ``bootstrap/sitecustomize.py`` of the probe init image.

The image carries one probe bundle per CPython minor version, because the probe's dependencies
resolve to different releases per version (OpenTelemetry dropped 3.9) and carry version-tagged C
extensions::

    /llmobs-probe/bootstrap/sitecustomize.py      this file (first on PYTHONPATH)
    /llmobs-probe/site-packages                   placeholder entry (last on PYTHONPATH)
    /llmobs-probe/python3.X/bootstrap/...         the bundle of ``llmobs-instrument bundle``
    /llmobs-probe/python3.X/site-packages/...

At interpreter start it swaps the placeholder ``site-packages`` entry of ``sys.path`` for the
running version's, takes its own two entries out of ``PYTHONPATH`` for child processes (unless
``LLMOBS_KEEP_PYTHONPATH=true``, as the probe does), and runs that version's bootstrap. No bundle
for this interpreter, or a musl libc: the app starts uninstrumented, with one warning. Stays
valid on CPython 3.9 and never raises into the app.
"""

import os
import sys


def _warn(message):
    try:
        import logging

        logging.getLogger("llmobs_probe").warning("llmobs probe not started: %s", message)
    except Exception:  # noqa: S110  # logging must not break the app either
        pass


def _dispatch():
    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.dirname(here)
    placeholder = os.path.join(root, "site-packages")
    version = f"python{sys.version_info[0]}.{sys.version_info[1]}"
    bundle = os.path.join(root, version)
    ours = {here, placeholder}
    if os.environ.get("LLMOBS_KEEP_PYTHONPATH", "").strip().lower() not in ("true", "1", "yes"):
        entries = os.environ.get("PYTHONPATH", "").split(os.pathsep)
        kept = [p for p in entries if p and os.path.abspath(p) not in ours]
        if kept:
            os.environ["PYTHONPATH"] = os.pathsep.join(kept)
        else:
            os.environ.pop("PYTHONPATH", None)
    # The probe's own bootstrap looks for the app's sitecustomize further on the path: not us.
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != here]
    libc = ""
    try:
        import platform

        libc = platform.libc_ver()[0]
    except Exception:  # noqa: S110
        pass
    if libc and libc != "glibc":
        _warn(f"the probe bundle needs glibc, this interpreter uses {libc}")
        return
    boot = os.path.join(bundle, "bootstrap", "sitecustomize.py")
    if not os.path.isfile(boot):
        _warn(f"no probe bundle for {version} in {root}")
        return
    site_packages = os.path.join(bundle, "site-packages")
    positions = [i for i, p in enumerate(sys.path) if os.path.abspath(p or ".") == placeholder]
    if positions:
        sys.path[positions[0]] = site_packages
    else:
        sys.path.append(site_packages)
    import importlib.util

    spec = importlib.util.spec_from_file_location("_llmobs_probe_bootstrap", boot)
    if spec is None or spec.loader is None:
        _warn(f"cannot load {boot}")
        return
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)


try:
    _dispatch()
except Exception as _exc:  # the app must start whatever happens here
    _warn(repr(_exc))
