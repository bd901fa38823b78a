"""/openapi.json against the real store (issue 12, item 7): schemathesis generates requests from
the document, sends them to a running store over HTTP and checks every answer: no 5xx, and a
status code, content type, headers and body that the document declares.

The store runs with both tokens set; each case carries the right token so the rest of the
operation is reached, and one check without it proves the 401s are documented too.
"""

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from llmobs_store.app import create_app
from tests.store.conftest import RunningStore, serve_store, store_settings

INGEST_TOKEN = "ingest-secret"
QUERY_TOKEN = "query-secret"


def _document() -> dict[str, Any]:
    # Building the app starts nothing (the lifespan does), so the document is there to collect.
    from llmobs_store.settings import StoreSettings

    return create_app(StoreSettings(db="chdb:///nonexistent")).openapi()


SCHEMA = schemathesis.openapi.from_dict(_document())
# Conformance of every answer, and no 5xx. Not schemathesis' "positive data acceptance": the
# document cannot say that start must not be after end, so such a valid-looking query is a 422.
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
OPERATIONS = {
    f"{op.method.upper()} {op.path}": op for op in (r.ok() for r in SCHEMA.get_all_operations())
}


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStore]:
    settings_ = store_settings(
        tmp_path_factory.mktemp("openapi"),
        ingest_token=INGEST_TOKEN,
        query_token=QUERY_TOKEN,
        max_request_bytes=64 * 1024,
    )
    with serve_store(settings_) as store:
        yield store


def _token(path: str) -> str:
    return INGEST_TOKEN if path.startswith("/v1/") else QUERY_TOKEN


@pytest.mark.fuzz
@given(case=SCHEMA.as_strategy())
@settings(settings.get_profile("fuzz"), suppress_health_check=list(HealthCheck))
def test_every_answer_conforms_to_the_document(case: Any, running: RunningStore) -> None:
    # One budget for the whole document: each example picks an operation, then its request.
    case.call_and_validate(
        base_url=running.url,
        headers={"Authorization": f"Bearer {_token(case.path)}"},
        checks=CHECKS,
    )


@pytest.mark.parametrize("name", sorted(OPERATIONS))
def test_unauthorised_answers_conform_too(name: str, running: RunningStore) -> None:
    operation = OPERATIONS[name]
    protected = name.split()[1].startswith(("/v1/", "/api/", "/metrics"))
    statuses: list[int] = []

    # A few cases per operation, a non-ASCII token among them (a 500 before the fix).
    @given(case=operation.as_strategy())
    @settings(max_examples=3, deadline=None, suppress_health_check=list(HealthCheck))
    def check(case: Any) -> None:
        response = case.call_and_validate(
            base_url=running.url, headers={"Authorization": "Bearer é"}, checks=CHECKS
        )
        statuses.append(response.status_code)

    check()
    assert statuses
    assert all((code == 401) == protected for code in statuses), (name, statuses)
