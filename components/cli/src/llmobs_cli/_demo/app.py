"""The demo's instrumented app: ``llmobs-instrument python -m llmobs_cli._demo.app --gateway URL``.

Builds the vector index over the bundled corpus (embeddings through the gateway), then runs the
simulated users until the duration ends or the process is told to stop (SIGINT/SIGTERM).
"""

import argparse
import signal
import sys
import threading
import time
from types import FrameType

from llmobs_cli._demo._chatbot import Chatbot
from llmobs_cli._demo._retrieval import DocumentIndex, load_corpus
from llmobs_cli._demo._traffic import Traffic


def main(argv: list[str] | None = None) -> int:
    """Run the chatbot and its traffic; exit 0 when stopped, 2 when the gateway never answers."""
    parser = argparse.ArgumentParser(prog="llmobs-demo-app", description=__doc__)
    parser.add_argument("--gateway", required=True, help="OpenAI base URL of the gateway (…/v1).")
    parser.add_argument("--users", type=int, default=4, help="Simulated users (1-6).")
    parser.add_argument(
        "--duration", type=float, default=0, help="Seconds to run (0: until stopped)."
    )
    parser.add_argument("--seed", type=int, default=7, help="Seed of the traffic.")
    parser.add_argument("--pace", type=float, default=1.0, help="Think-time multiplier.")
    parser.add_argument(
        "--poison-store",
        default="",
        help="Store URL to send one poison span to at the start (for the Dead letters view).",
    )
    args = parser.parse_args(argv)

    import openai  # after argument parsing: a usage error should not pay for the import

    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    client = openai.OpenAI(base_url=args.gateway, api_key="demo-key", max_retries=0, timeout=60)
    index = None
    deadline = time.monotonic() + 60
    while index is None and not stop.is_set():
        try:
            index = DocumentIndex(client, load_corpus())
        except openai.APIError as exc:
            if time.monotonic() > deadline:
                print(f"demo app: the gateway did not answer: {exc}", file=sys.stderr)
                return 2
            # One line per try, so the demo's "not ready" message shows why (its log's tail).
            print(f"waiting for the gateway's embeddings: {type(exc).__name__}: {exc}", flush=True)
            stop.wait(2.0)
    if index is None:
        return 0
    print(f"index ready: {len(index.documents)} documents", flush=True)
    if args.poison_store:
        _poison(args.poison_store)

    traffic = Traffic(Chatbot(client, index), args.users, stop, args.seed, args.pace)
    threads = traffic.start()
    stop.wait(args.duration if args.duration > 0 else None)
    stop.set()
    for t in threads:
        t.join(timeout=30)
    c = traffic.counters
    print(
        f"stopped: {c.turns} turns, {c.sessions} sessions, {c.agent_runs} agent runs, "
        f"{c.errors} errors",
        flush=True,
    )
    return 0


def _poison(store_url: str) -> None:
    """Send the one poison span; a store that does not take it is a line, not the end."""
    import httpx

    from llmobs_cli._demo._poison import send_poison

    try:
        trace_id = send_poison(store_url)
    except httpx.HTTPError as exc:
        print(f"poison span not sent: {type(exc).__name__}: {exc}", flush=True)
        return
    print(f"poison span sent (the store dead-letters it): trace {trace_id}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
