"""The interop app: set up one family's instrumentation, run the steps, write a result file.

``python run.py --family NAME --base-url URL --otlp URL --service NAME --session ID --user ID
--out FILE`` runs in the family's own virtual environment (never the workspace's), as a
subprocess of the suite. The result file holds the step windows, the answers, the installed
versions and, should a step fail, its error; the suite reads everything else from the
simulator and the store.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import time
import traceback
from importlib import metadata
from pathlib import Path
from typing import Any


def versions() -> dict[str, str]:
    """Every installed distribution and its version (the lock, as it really installed)."""
    found = {}
    for dist in metadata.distributions():
        name = dist.metadata["Name"]
        if name:
            found[name.lower()] = dist.version
    return dict(sorted(found.items()))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--family", required=True, help="adapter module under adapters/")
    parser.add_argument("--base-url", required=True, help="the simulator's /v1 URL")
    parser.add_argument("--otlp", required=True, help="OTLP/HTTP base URL (no /v1/...)")
    parser.add_argument("--service", required=True, help="service.name of the app")
    parser.add_argument("--session", required=True, help="session id of the session step")
    parser.add_argument("--user", required=True, help="user id of the session step")
    parser.add_argument("--out", required=True, type=Path, help="where to write the result")
    args = parser.parse_args()

    result: dict[str, Any] = {"family": args.family, "python": sys.version.split()[0]}
    started = time.monotonic()
    adapter = importlib.import_module(f"adapters.{args.family}")
    adapter.setup(args.otlp, args.service)
    result["setup_s"] = round(time.monotonic() - started, 3)

    from steps import Steps  # after setup: instrumentations patch libraries as they load

    steps = Steps(args.base_url, adapter.turn, args.session, args.user)
    try:
        steps.run_all()
    except Exception as exc:  # written to the result, so the suite reports which step broke
        result["error"] = f"{type(exc).__name__}: {exc}"
        result["traceback"] = traceback.format_exc()
    finally:
        adapter.shutdown()
    result.update(
        windows=steps.windows,
        answers=steps.answers,
        versions=versions(),
        run_s=round(time.monotonic() - started, 3),
    )
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    return 1 if "error" in result else 0


if __name__ == "__main__":
    sys.exit(main())
