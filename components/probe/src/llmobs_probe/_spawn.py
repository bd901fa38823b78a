"""The probe in ``multiprocessing`` spawn children (uvicorn ``--workers N``, spawn-based pools).

The bootstrap removes itself from ``PYTHONPATH`` so arbitrary child programs are not
instrumented; a spawn child is a fresh interpreter, so it would start without the probe. Instead,
the parent's ``multiprocessing.spawn.get_preparation_data`` is wrapped to add one entry to the
preparation data. Its pickled form is a call of the builtin ``exec`` (no import of ours needed to
unpickle it), which the child runs while loading that data: before ``spawn.prepare`` imports the
main module and before the target is unpickled, so the probe starts before the app imports its
libraries. The code it runs puts the probe's directories at the end of ``sys.path`` and starts the
probe; it swallows every error. ``prepare`` ignores keys it does not know (CPython 3.9-3.13), and
the forkserver keeps only the keys it knows, so nothing else sees the entry. Other children
(``subprocess``, ``os.exec*``) stay uninstrumented.
"""

from __future__ import annotations

import functools
from typing import Any, Callable, Dict, List, Sequence, Tuple

from llmobs_probe import _guard

PREPARATION_KEY = "llmobs_probe"

_CHILD_CODE = """
import sys
try:
    for _p in {paths!r}:
        if _p not in sys.path:
            sys.path.append(_p)
    from llmobs_probe._spawn import start_child
    start_child({paths!r})
except Exception:
    pass
"""


class _ChildStart:
    """Pickles as ``exec(code, {})``: unpickling it in the spawn child starts the probe there."""

    def __init__(self, paths: Sequence[str]) -> None:
        self.paths = list(paths)

    def __reduce__(self) -> Tuple[Callable[..., Any], Tuple[str, Dict[str, Any]]]:
        return exec, (_CHILD_CODE.format(paths=self.paths), {})


_enabled: List[str] = []


def instrument_children(paths: Sequence[str]) -> None:
    """Make spawn children of this process start the probe (importable from ``paths``).

    Wraps ``get_preparation_data`` when ``multiprocessing.spawn`` is imported (a post-import hook,
    so processes that never use multiprocessing do not pay for importing it). Never raises.
    """
    try:
        if _enabled:
            return
        _enabled.extend(paths)
        import wrapt

        wrapt.register_post_import_hook(_patch, "multiprocessing.spawn")
    except Exception as exc:
        _guard.record_error("spawn children", exc)


def _patch(module: Any) -> None:
    try:
        original = module.get_preparation_data
        if getattr(original, "__llmobs_wrapped__", False):
            return

        @functools.wraps(original)
        def get_preparation_data(*args: Any, **kwargs: Any) -> Any:
            data = original(*args, **kwargs)
            try:
                if isinstance(data, dict):
                    data[PREPARATION_KEY] = _ChildStart(_enabled)
            except Exception as exc:  # pragma: no cover  # the child just starts without it
                _guard.record_error("spawn children", exc)
            return data

        get_preparation_data.__llmobs_wrapped__ = True  # type: ignore[attr-defined]
        module.get_preparation_data = get_preparation_data
    except Exception as exc:
        _guard.record_error("spawn children", exc)


def start_child(paths: Sequence[str]) -> None:
    """In a spawn child: start the probe and pass it on to this child's own spawn children."""
    try:
        from llmobs_probe._distro import initialize

        if initialize() is not None:
            instrument_children(paths)
    except Exception as exc:
        _guard.record_error("spawn child start", exc)


def probe_paths(bootstrap_dir: str, site_packages: str, roots: Sequence[str] = ()) -> List[str]:
    """The directories a spawn child needs on ``sys.path`` to import the probe (``roots``: those
    ``llmobs-instrument COMMAND`` named, for an interpreter of another environment)."""
    import os

    paths = [p for p in (site_packages,) if os.path.isdir(p)]
    parent = os.path.dirname(bootstrap_dir)
    if os.path.basename(parent) == "llmobs_probe":  # ``llmobs-instrument COMMAND``: the venv's
        paths.append(os.path.dirname(parent))  # site-packages holding llmobs_probe
    paths += [p for p in roots if p not in paths]
    return paths
