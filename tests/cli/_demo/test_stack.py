"""The demo's service plan: the store is told to scrape both simulators' /metrics."""

import json
from pathlib import Path

from llmobs_cli._demo._stack import SCRAPE_INTERVAL_S, Stack
from llmobs_store.scrape import parse_targets


def test_the_store_scrapes_both_simulators_as_model_servers(tmp_path: Path) -> None:
    stack = Stack(data_dir=tmp_path, store_port=4318)
    services = {s.name: s for s in stack.plan()}
    store = services["store"].command
    targets_file = Path(store[store.index("--scrape-targets") + 1])
    assert targets_file.parent == tmp_path
    text = targets_file.read_text("utf-8")
    # What the store itself accepts (the same parser `store serve --scrape-targets` uses).
    interval, targets = parse_targets(text, default_interval_s=15.0)
    assert interval == SCRAPE_INTERVAL_S
    ports = {
        name: s.command[s.command.index("--port") + 1]
        for name, s in services.items()
        if name in ("simulator", "flaky-simulator")
    }
    by_label = {t.labels["model_server"]: t for t in targets}
    assert set(by_label) == {"fast", "flaky"}
    assert by_label["fast"].url == f"http://127.0.0.1:{ports['simulator']}/metrics"
    assert by_label["flaky"].url == f"http://127.0.0.1:{ports['flaky-simulator']}/metrics"
    assert {t.kind for t in targets} == {"model-server"}
    assert json.loads(text)["interval_s"] == SCRAPE_INTERVAL_S
