"""A Flask app as users write it: an outgoing HTTP call and an LLM call per request.

The only line that knows about telemetry tags the server span with the worker's pid, so the test
can tell the gunicorn workers apart; ``_install_stack_dump`` is the test's diagnostics.
"""

import os

import openai
import requests
from flask import Flask, jsonify
from opentelemetry import trace

SIM_URL = os.environ["SIM_URL"]


def _install_stack_dump() -> None:
    """Diagnostics for the test, not telemetry: with DUMP_DIR set, SIGUSR1 appends the stacks of
    every thread and greenlet of this process (and of any child it forked) to DUMP_DIR/<pid>.txt,
    so a stalled request shows where it waits."""
    dump_dir = os.environ.get("DUMP_DIR")
    if not dump_dir:
        return
    import faulthandler
    import signal
    import sys

    def dump(_signum, _frame):  # type: ignore[no-untyped-def]
        with open(os.path.join(dump_dir, f"{os.getpid()}.txt"), "a") as fh:
            fh.write("=== threads (faulthandler)\n")
            fh.flush()
            faulthandler.dump_traceback(fh, all_threads=True)
            if "gevent" in sys.modules:
                import gevent.util

                fh.write("=== greenlets (gevent)\n")
                gevent.util.print_run_info(file=fh)

    signal.signal(signal.SIGUSR1, dump)  # gunicorn's handler (reopen logs) is not needed here


_install_stack_dump()
app = Flask(__name__)
_clients: dict = {}  # type: ignore[type-arg]


def client() -> openai.OpenAI:
    # Created in the worker, after the fork (and after gevent's patch): never share a
    # connection pool between pre-forked workers.
    if "openai" not in _clients:
        _clients["openai"] = openai.OpenAI(base_url=SIM_URL + "/v1", api_key="k", max_retries=0)
    return _clients["openai"]  # type: ignore[no-any-return]


@app.route("/chat")
def chat():  # type: ignore[no-untyped-def]
    trace.get_current_span().set_attribute("test.pid", os.getpid())
    requests.get(SIM_URL + "/health", timeout=5)
    result = client().chat.completions.create(
        model="fast-model", messages=[{"role": "user", "content": "hi"}]
    )
    return jsonify(pid=os.getpid(), id=result.id)
