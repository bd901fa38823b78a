"""Routes (exact before pattern, weighted first pick) and circuit breakers."""

import time

from llmobs_gateway._routing import CircuitBreaker, Router, build_upstreams
from llmobs_gateway.config import parse_config

CONFIG = parse_config(
    {
        "upstreams": [
            {
                "name": "a",
                "base_url": "http://127.0.0.1:1/v1",
                "models": ["m", "gpt-x"],
                "weight": 1,
            },
            {"name": "b", "base_url": "http://127.0.0.1:2/v1", "models": ["gpt-y"], "weight": 1000},
        ],
        "routes": [
            {"model": "gpt-*", "upstreams": ["b", "a"]},
            {"model": "m", "upstreams": ["a", "b"]},
            {"model": "w", "upstreams": ["a", "b"], "balance": "weighted"},
        ],
    }
)


def test_exact_routes_win_and_patterns_match_the_rest() -> None:
    upstreams = build_upstreams(CONFIG, 2, 30)
    router = Router(CONFIG, upstreams)
    assert router.route("m") is CONFIG.routes[1]
    assert router.route("gpt-4o") is CONFIG.routes[0]
    assert router.route("unknown") is None
    assert [u.name for u in router.candidates(CONFIG.routes[1])] == ["a", "b"]
    assert router.served_models() == [("gpt-x", "a"), ("gpt-y", "b"), ("m", "a"), ("w", "a")]


def test_weighted_routes_pick_the_first_by_weight_and_keep_the_rest_for_failover() -> None:
    router = Router(CONFIG, build_upstreams(CONFIG, 2, 30))
    firsts = [router.candidates(CONFIG.routes[2])[0].name for _ in range(200)]
    assert firsts.count("b") > 180
    assert {u.name for u in router.candidates(CONFIG.routes[2])} == {"a", "b"}


def test_an_open_circuit_leaves_the_upstream_out_until_the_cool_down_ends() -> None:
    upstreams = build_upstreams(CONFIG, 2, 30)
    router = Router(CONFIG, upstreams)
    now = time.monotonic()
    upstreams["a"].breaker.record_failure(now)
    assert [u.name for u in router.candidates(CONFIG.routes[1])] == ["a", "b"]
    upstreams["a"].breaker.record_failure(now)
    assert upstreams["a"].breaker.is_open
    assert [u.name for u in router.candidates(CONFIG.routes[1])] == ["b"]
    upstreams["b"].breaker.record_failure(now)
    upstreams["b"].breaker.record_failure(now)
    # Everything open: the first is tried rather than failing every request for the cool-down.
    assert [u.name for u in router.candidates(CONFIG.routes[1])] == ["a"]


def test_a_breaker_half_opens_after_the_cool_down_and_closes_on_success() -> None:
    breaker = CircuitBreaker(threshold=1, cooldown_s=10)
    breaker.record_failure(100.0)
    assert not breaker.available(105.0)
    assert breaker.available(110.0)  # the trial
    breaker.record_failure(110.0)  # the trial failed: a full cool-down again
    assert not breaker.available(115.0)
    breaker.record_success()
    assert breaker.available(115.0)
    assert breaker.failures == 0


def test_a_file_without_routes_routes_by_the_upstreams_models_and_priorities() -> None:
    # The shape the operator writes: upstreams only, with priorities; no models = any model.
    config = parse_config(
        {
            "upstreams": [
                {
                    "name": "backup",
                    "base_url": "http://127.0.0.1:3/v1",
                    "models": ["m"],
                    "priority": 5,
                },
                {
                    "name": "main",
                    "base_url": "http://127.0.0.1:1/v1",
                    "models": ["m"],
                    "priority": 0,
                },
                {
                    "name": "main2",
                    "base_url": "http://127.0.0.1:2/v1",
                    "models": ["m"],
                    "priority": 0,
                },
                {"name": "anything", "base_url": "http://127.0.0.1:4/v1", "api_key_env": "K"},
            ]
        }
    )
    router = Router(config, build_upstreams(config, 2, 30))
    route = router.route("m")
    assert route is not None
    orders = [[u.name for u in router.candidates(route)] for _ in range(100)]
    assert {tuple(o[:1]) for o in orders} == {("main",), ("main2",)}  # equal priorities share
    assert all(o[-1] == "backup" for o in orders)  # the lower priority only for failover
    other = router.route("some-other-model")
    assert other is not None
    assert [u.name for u in router.candidates(other)] == ["anything"]
    assert ("m", "backup") not in router.served_models()


def test_metric_labels_for_caller_chosen_model_names_are_bounded() -> None:
    from llmobs_gateway._prometheus import GatewayMetrics
    from llmobs_gateway._recording import Recorder
    from llmobs_gateway._telemetry import build_telemetry
    from llmobs_semconv.pricing import PriceTable

    telemetry = build_telemetry("t", None)
    recorder = Recorder(
        telemetry,
        GatewayMetrics(),
        PriceTable(),
        capture_content=False,
        redact_content=True,
        max_chunk_bytes=1024,
        log_requests=False,
    )
    labels = {recorder.model_label(f"model-{i}") for i in range(1500)}
    assert len(labels) == 1001
    assert "other" in labels
    assert recorder.model_label("model-5") == "model-5"
    telemetry.shutdown()
