"""``llmobs-instrument``: run a command with the probe loaded, or write the injection bundle.

``llmobs-instrument COMMAND [ARGS...]`` puts the bootstrap directory first on PYTHONPATH and
executes COMMAND (like ``opentelemetry-instrument``); ``llmobs-instrument bundle DIR
[--python-version 3.X] [--platform PLATFORM]`` writes the bundle the operator's init container
copies into pods (layout in :mod:`llmobs_probe._bundle`). Plain argparse: it runs in app images.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path
from typing import List, Optional

USAGE = "usage: llmobs-instrument COMMAND [ARGS...] | llmobs-instrument bundle DIR [options]"


def bootstrap_dir() -> str:
    """The directory holding the probe's sitecustomize.py in this installation."""
    return str(Path(__file__).parent / "bootstrap")


def main(argv: Optional[List[str]] = None) -> int:
    """Console-script entry point."""
    args = sys.argv[1:] if argv is None else argv
    if not args or args[0] in ("-h", "--help"):
        print(USAGE)
        print("  COMMAND            run COMMAND with the llmobs probe (OTEL_* / LLMOBS_* settings)")
        print("  bundle DIR         write the probe and its dependencies for injection into DIR")
        return 0 if args else 2
    if args[0] == "bundle":
        return _bundle(args[1:])
    return _run(args)


#: Read by the bootstrap in the launched interpreter (see bootstrap/sitecustomize.py).
ENV_PATHS = "LLMOBS_INSTRUMENT_PATHS"
ENV_PYTHON = "LLMOBS_INSTRUMENT_PYTHON"

# Where this installation imports the probe and its dependencies from (packages whose parent
# directory is the import root; the dotted ones sit in namespace packages).
_ROOT_MODULES = ("llmobs_probe", "llmobs_semconv", "opentelemetry.sdk", "wrapt", "google.protobuf")


def python_tag() -> str:
    """What compiled dependencies must match: implementation, version, free-threading."""
    threaded = "t" if "t" in getattr(sys, "abiflags", "") else ""
    return f"{sys.implementation.name}-{sys.version_info[0]}.{sys.version_info[1]}{threaded}"


def import_roots() -> List[str]:
    """The directories the launched interpreter needs to import the probe from this install."""
    import importlib.util
    import sysconfig

    roots: List[str] = []
    for name in _ROOT_MODULES:
        try:
            spec = importlib.util.find_spec(name)
        except ImportError:
            continue
        if spec is None or not spec.origin:
            continue
        found = Path(spec.origin).parent
        for _ in name.split("."):
            found = found.parent
        roots.append(str(found))
    # The rest of the dependencies (requests, protobuf's and the exporters' own) live here.
    roots += [sysconfig.get_paths()[key] for key in ("purelib", "platlib")]
    unique: List[str] = []
    for root in roots:
        if root not in unique and os.path.isdir(root):
            unique.append(root)
    return unique


def _run(command: List[str]) -> int:
    executable = shutil.which(command[0])
    if executable is None:
        print(f"llmobs-instrument: error: command not found: {command[0]}", file=sys.stderr)
        return 127
    here = bootstrap_dir()
    path = [here] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    # COMMAND may run another environment's interpreter (not this venv's): it finds the probe
    # through these roots, which the bootstrap appends after that interpreter's own
    # site-packages (so the app's versions win), and only when the Python matches this one's, as
    # compiled dependencies (wrapt, protobuf) only load there. On PYTHONPATH they would come
    # before the app's own packages.
    env = dict(
        os.environ,
        PYTHONPATH=os.pathsep.join(path),
        **{ENV_PATHS: os.pathsep.join(import_roots()), ENV_PYTHON: python_tag()},
    )
    os.execve(executable, command, env)  # noqa: S606  # replaces this process, as intended
    return 0  # pragma: no cover


def _bundle(argv: List[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="llmobs-instrument bundle",
        description="Write the probe, its bootstrap and dependencies into DIR.",
    )
    parser.add_argument("dir", help="target directory (created if missing)")
    parser.add_argument("--python-version", help="target interpreter, e.g. 3.9 (default: this one)")
    parser.add_argument("--platform", help="target platform, e.g. x86_64-manylinux_2_28")
    ns = parser.parse_args(argv)
    if ns.python_version and not _valid_version(ns.python_version):
        print(
            f"llmobs-instrument bundle: error: --python-version {ns.python_version!r} "
            "must look like 3.9",
            file=sys.stderr,
        )
        return 2
    from llmobs_probe._bundle import build

    try:
        target = build(Path(ns.dir), ns.python_version, ns.platform)
    except RuntimeError as exc:
        print(f"llmobs-instrument bundle: error: {exc}", file=sys.stderr)
        return 1
    print(f"bundle written to {target} (PYTHONPATH={target}/bootstrap:...:{target}/site-packages)")
    return 0


def _valid_version(value: str) -> bool:
    parts = value.split(".")
    return len(parts) == 2 and all(p.isdigit() for p in parts) and parts[0] == "3"


if __name__ == "__main__":
    sys.exit(main())
