"""The CRD: generated from the spec models, checked in unchanged, structural, and the examples
validate against it (and bad specs do not)."""

import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from llmobs_operator import crd
from llmobs_operator.spec import parse_spec

ROOT = Path(__file__).resolve().parents[2]
CHECKED_IN = ROOT / "operator" / "crds" / "llmobs.dev_llmobservabilities.yaml"
EXAMPLES = sorted((ROOT / "operator" / "examples").glob("*.yaml"))


def schema() -> dict[str, Any]:
    version = crd.build_crd()["spec"]["versions"][0]
    s: dict[str, Any] = version["schema"]["openAPIV3Schema"]
    return s


def walk(node: Any, path: str = "") -> Any:
    if isinstance(node, dict):
        yield path, node
        for key, value in (node.get("properties") or {}).items():
            yield from walk(value, f"{path}.{key}")
        if isinstance(node.get("items"), dict):
            yield from walk(node["items"], f"{path}[]")
        if isinstance(node.get("additionalProperties"), dict):
            yield from walk(node["additionalProperties"], f"{path}{{}}")


def test_checked_in_crd_is_the_generated_one() -> None:
    assert CHECKED_IN.read_text() == crd.render_crd_yaml(), (
        "operator/crds is stale: run `llmobs operator crd --output " + str(CHECKED_IN) + "`"
    )


def test_schema_is_structural_and_documented() -> None:
    root = schema()
    for path, node in [
        *walk(root["properties"]["spec"], ".spec"),
        *walk(root["properties"]["status"], ".status"),
    ]:
        assert not {"$ref", "anyOf", "title"} & set(node), path
        assert "type" in node or node.get("x-kubernetes-int-or-string"), f"untyped: {path}"
        if path.count(".") >= 1 and not path.endswith(("{}", "[]")):
            assert node.get("description"), f"no description: {path}"
        assert node.get("default", 0) is not None, f"null default: {path}"


def test_printer_columns_and_status_subresource() -> None:
    version = crd.build_crd()["spec"]["versions"][0]
    assert [c["name"] for c in version["additionalPrinterColumns"]] == [
        "Ready",
        "Instrumented",
        "Store",
        "Age",
    ]
    assert version["subresources"] == {"status": {}}
    names = crd.build_crd()["spec"]["names"]
    assert names["shortNames"] == ["llmobs"]
    assert names["kind"] == "LLMObservability"


def test_cel_rules_name_existing_fields() -> None:
    for path, node in walk(schema()):
        for rule in node.get("x-kubernetes-validations") or []:
            assert rule["message"]
            for field in re.findall(r"self\.(\w+)", rule["rule"]):
                assert field in node["properties"], f"{path}: rule uses unknown field {field}"


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.name)
def test_examples_validate(example: Path) -> None:
    doc = yaml.safe_load(example.read_text())
    jsonschema.validate(doc, schema())
    parse_spec(doc["spec"])  # and the operator parses them


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        ({"injection": {"samplingRatio": 1.5}}, "samplingRatio"),
        ({"store": {"mode": "s3"}}, "mode"),
        ({"store": {"retentionDays": 0}}, "retentionDays"),
        ({"gateway": {"upstreams": [{"name": "Bad Name", "baseUrl": "https://x"}]}}, "name"),
        ({"injection": {"extraEnv": [{"name": "1BAD"}]}}, "name"),
        ({"rum": {"allowedOrigins": ["chat.example.com"]}}, "allowedOrigins"),
    ],
)
def test_bad_specs_are_rejected_naming_the_field(spec: dict[str, Any], field: str) -> None:
    doc = {
        "apiVersion": "llmobs.dev/v1alpha1",
        "kind": "LLMObservability",
        "metadata": {},
        "spec": spec,
    }
    with pytest.raises(jsonschema.ValidationError) as err:
        jsonschema.validate(doc, schema())
    assert field in ".".join(str(p) for p in err.value.absolute_path) or field in err.value.message
    with pytest.raises(ValueError, match=field.lower()[:5] if field != "name" else "name"):
        parse_spec(spec)
