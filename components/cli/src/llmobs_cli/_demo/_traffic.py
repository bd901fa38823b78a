"""Simulated users: each holds multi-turn sessions with the chatbot, one after another.

Deterministic for a seed: who asks what, how long answers are, when a tool is used, and when the
research agent runs (and loops). The first sessions are arranged so that a short demo already
shows a tool call and a looping agent within its first minute.
"""

import random
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from opentelemetry import baggage, context

from llmobs_cli._demo._chatbot import Chatbot, Conversation
from llmobs_semconv import attributes as A

#: (user, model they use): two models, so the models view has a comparison to show.
USERS: tuple[tuple[str, str], ...] = (
    ("ana", "gpt-4o-mini"),
    ("bo", "gpt-4o"),
    ("chen", "gpt-4o-mini"),
    ("dara", "gpt-4o"),
    ("eli", "gpt-4o-mini"),
    ("fay", "gpt-4o-mini"),
)
QUESTIONS: tuple[str, ...] = (
    "How do I try llmobs on my laptop?",
    "What is time to first token and what makes it slow?",
    "How is the cost of a request computed?",
    "Can I change the price of a model?",
    "How does the gateway fail over when an upstream is down?",
    "What does the probe instrument?",
    "Are prompts recorded by default?",
    "How do sessions work across the gateway and my app?",
    "What is the difference between TTFT and TPOT?",
    "How long is data kept?",
    "What happens if ClickHouse is down while spans arrive?",
    "How do I see which namespace spends the most?",
    "What counts as a runaway agent?",
    "Which vLLM metrics are collected?",
    "How do I protect the query API?",
    "Where do I see stalls in the middle of a stream?",
    "How are embedding calls priced?",
    "What does a retrieval span contain?",
)
RESEARCH: tuple[str, ...] = (
    "Find recent articles about LLM observability tools.",
    "Research how other teams measure GPU cost per request.",
)


@dataclass
class Counters:
    """What the traffic did, for the demo's progress line (updated from the user threads)."""

    turns: int = 0
    errors: int = 0
    agent_runs: int = 0
    sessions: int = 0

    def __post_init__(self) -> None:
        self._lock = threading.Lock()

    def add(self, **delta: int) -> None:
        with self._lock:
            for name, value in delta.items():
                setattr(self, name, getattr(self, name) + value)


@contextmanager
def in_session(session_id: str, user_id: str) -> Iterator[None]:
    """Run the block with the session and user in W3C baggage (the probe stamps them on spans)."""
    ctx = baggage.set_baggage(A.BAGGAGE_SESSION_ID, session_id)
    ctx = baggage.set_baggage(A.BAGGAGE_USER_ID, user_id, ctx)
    token = context.attach(ctx)
    try:
        yield
    finally:
        context.detach(token)


class Traffic:
    """Runs ``users`` simulated users until ``stop`` is set."""

    def __init__(
        self, bot: Chatbot, users: int, stop: threading.Event, seed: int = 7, pace: float = 1.0
    ) -> None:
        self._bot = bot
        self._users = USERS[: max(1, min(users, len(USERS)))]
        self._stop = stop
        self._seed = seed
        self._pace = pace
        self.counters = Counters()

    def start(self) -> list[threading.Thread]:
        threads = [
            threading.Thread(
                target=self._user, args=(i, name, model), name=f"user-{name}", daemon=True
            )
            for i, (name, model) in enumerate(self._users)
        ]
        for t in threads:
            t.start()
        return threads

    def _user(self, index: int, user: str, model: str) -> None:
        rng = random.Random(f"{self._seed}-{user}")
        # Stagger the users so the first turns do not all land at once.
        if self._stop.wait(index * 0.7 * self._pace):
            return
        session_no = 0
        while not self._stop.is_set():
            session_no += 1
            session_id = f"{user}-{rng.getrandbits(24):06x}"
            conv = Conversation(session_id=session_id, user_id=user, model=model)
            turns = rng.randint(2, 5)
            self.counters.add(sessions=1)
            with in_session(session_id, user):
                for turn in range(turns):
                    if self._stop.is_set():
                        return
                    first = session_no == 1
                    agent = (first and index == 1 and turn == 1) or (
                        turn == turns - 1 and rng.random() < 0.15
                    )
                    tool = (first and index == 0 and turn == 0) or rng.random() < 0.25
                    self._one(conv, rng, agent, tool)
                    if self._stop.wait(rng.uniform(0.8, 2.5) * self._pace):
                        return
                    conv.history = conv.history[-6:]  # keep prompts bounded

    def _one(self, conv: Conversation, rng: random.Random, agent: bool, tool: bool) -> None:
        started = time.monotonic()
        try:
            if agent:
                steps = self._bot.research(conv, rng.choice(RESEARCH))
                self.counters.add(agent_runs=1, turns=1)
                what = f"agent ran {steps} steps"
            else:
                self._bot.turn(conv, rng.choice(QUESTIONS), rng.randint(30, 140), tool)
                self.counters.add(turns=1)
                what = "answered" + (" with a tool call" if tool else "")
        except Exception as exc:  # one failed turn is data for the UI, not the end of the demo
            self.counters.add(errors=1)
            what = f"failed: {type(exc).__name__}"
        took = time.monotonic() - started
        print(
            f"turn {conv.session_id} {conv.model} {what} in {took:.2f}s",
            file=sys.stdout,
            flush=True,
        )
