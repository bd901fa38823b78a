"""Gateway settings: the hardening knobs have safe defaults and a bad value names its field."""

import pydantic
import pytest

from llmobs_gateway.settings import GatewaySettings


def test_the_hardening_knobs_default_to_bounded_values() -> None:
    s = GatewaySettings()
    assert s.max_upstream_header_bytes == 64 * 1024
    assert s.max_upstream_body_bytes == 256 * 1024 * 1024
    assert s.max_upstream_error_bytes == 1024 * 1024
    assert s.client_write_stall_s == 30.0
    assert s.max_requests_per_client_ip == 0  # off: clients behind one proxy share an address


def test_they_are_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LLMOBS_CLIENT_WRITE_STALL_S", "5")
    monkeypatch.setenv("LLMOBS_MAX_REQUESTS_PER_CLIENT_IP", "8")
    s = GatewaySettings()
    assert (s.client_write_stall_s, s.max_requests_per_client_ip) == (5.0, 8)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("client_write_stall_s", 0),
        ("max_requests_per_client_ip", -1),
        ("max_upstream_header_bytes", 10),
        ("max_upstream_body_bytes", 0),
        ("max_upstream_error_bytes", 0),
    ],
)
def test_a_wrong_value_names_the_field(field: str, value: int) -> None:
    with pytest.raises(pydantic.ValidationError, match=field):
        GatewaySettings(**{field: value})
