"""The store environment the operator writes is what the store really reads.

pydantic-settings ignores unknown ``LLMOBS_STORE_*`` variables silently, so a renamed setting would
leave an in-cluster store on its defaults (its data off the PVC): this test joins the two sides.
"""

from typing import Any

import pytest

from llmobs_operator.resources import store
from llmobs_operator.resources.common import Owner
from llmobs_operator.spec import parse_spec
from llmobs_store.settings import StoreSettings

OWNER = Owner(name="obs", namespace="team", uid="u-1")


def store_env(spec: dict[str, Any]) -> dict[str, str]:
    parsed = parse_spec(spec)
    children = store.build(OWNER, parsed)
    env = dict(next(c for c in children if c["kind"] == "ConfigMap")["data"])
    workload = next(c for c in children if c["kind"] in ("StatefulSet", "Deployment"))
    for var in workload["spec"]["template"]["spec"]["containers"][0].get("env", []):
        env[var["name"]] = var.get("value", "from-secret")
    return env


@pytest.mark.parametrize(
    "spec",
    [
        {},
        {"rum": {"enabled": True, "allowedOrigins": ["https://app.example"]}},
        {
            "store": {
                "mode": "external",
                "clickhouse": {
                    "url": "https://ch:8443/llmobs",
                    "user": "writer",
                    "credentialsSecretRef": {"name": "ch", "key": "pw"},
                },
            }
        },
    ],
)
def test_every_store_variable_is_a_store_setting(spec: dict[str, Any]) -> None:
    env = store_env(spec)
    fields = {f"LLMOBS_STORE_{name.upper()}" for name in StoreSettings.model_fields}
    ours = {k for k in env if k.startswith("LLMOBS_STORE_")}
    assert ours, env
    assert ours <= fields, f"the store does not read {sorted(ours - fields)}"
    values = {k.removeprefix("LLMOBS_STORE_").lower(): v for k, v in env.items() if k in fields}
    settings = StoreSettings(**values)
    assert settings.db.startswith(("chdb:///data/", "https://ch:8443/"))
