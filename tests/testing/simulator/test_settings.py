"""Settings: the ``LLMOBS_SIM_`` environment, a description on every field, clear errors."""

import pytest
from pydantic import ValidationError

from llmobs_testing.simulator import ModelProfile, SimulatorSettings


def test_environment_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LLMOBS_SIM_MAX_CONCURRENT", "3")
    monkeypatch.setenv("LLMOBS_SIM_MODELS", '[{"name": "env-model", "ttft_s": 0.3}]')
    settings = SimulatorSettings()
    assert settings.max_concurrent == 3
    assert settings.models[0].name == "env-model"
    assert settings.models[0].ttft_s == 0.3


def test_every_field_is_described() -> None:
    for model in (SimulatorSettings, ModelProfile):
        for name, field in model.model_fields.items():
            assert field.description, f"{model.__name__}.{name} has no description"


@pytest.mark.parametrize(
    ("kwargs", "named"),
    [
        ({"error_rate": 2}, "error_rate"),
        ({"models": []}, "models"),
        ({"models": [{"name": "a"}, {"name": "a"}]}, "duplicate"),
        ({"models": [{"name": "a", "itl_s": -1}]}, "itl_s"),
    ],
)
def test_bad_values_name_the_field(kwargs: dict[str, object], named: str) -> None:
    with pytest.raises(ValidationError, match=named):
        SimulatorSettings.model_validate(kwargs)


def test_unknown_model_uses_the_first_profile_unless_strict() -> None:
    lenient = SimulatorSettings(models=[ModelProfile(name="a"), ModelProfile(name="b")])
    assert lenient.profile("b") == lenient.models[1]
    assert lenient.profile("other") == lenient.models[0]
    strict = SimulatorSettings(models=[ModelProfile(name="a")], strict_models=True)
    assert strict.profile("other") is None
