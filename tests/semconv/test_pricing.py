"""The shared price table: regex matching, separate input/output prices, override files."""

import pytest

from llmobs_semconv.pricing import DEFAULT_PRICES, PriceTable


def test_input_and_output_are_priced_separately_with_cached_input() -> None:
    table = PriceTable()
    cost = table.cost("gpt-4o-mini-2024-07-18", 1_000_000, 500_000, cached_input_tokens=200_000)
    assert cost is not None
    assert cost.input_usd == pytest.approx(0.8 * 0.15 + 0.2 * 0.075)
    assert cost.output_usd == pytest.approx(0.30)
    assert cost.total_usd == pytest.approx(cost.input_usd + cost.output_usd)


def test_first_match_wins_and_unknown_models_have_no_price() -> None:
    table = PriceTable()
    mini = table.price("GPT-4o-mini")
    assert mini is not None
    assert mini.output == 0.60
    assert table.price("some-local-model") is None
    assert table.cost(None, 10, 10) is None


def test_override_file_comes_before_defaults() -> None:
    table = PriceTable.from_json('{"models": [{"pattern": "gpt-4o.*", "input": 1, "output": 2}]}')
    cost = table.cost("gpt-4o-mini", 1_000_000, 1_000_000)
    assert cost is not None
    assert cost.total_usd == pytest.approx(3.0)
    assert len(table.entries) == len(DEFAULT_PRICES) + 1


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{", "not valid JSON"),
        ('{"models": {}}', "models"),
        ('{"models": [{"input": 1, "output": 2}]}', r"models\[0\] lacks the field 'pattern'"),
        ('{"models": [{"pattern": "(", "input": 1, "output": 2}]}', r"models\[0\].pattern"),
        ('{"models": [{"pattern": "a", "input": "x", "output": 2}]}', "not a number"),
    ],
)
def test_bad_override_file_names_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        PriceTable.from_json(text)
