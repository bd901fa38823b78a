"""Storage tells ClickHouse refusing the rows apart from ClickHouse being unreachable."""

import pytest

from llmobs_store.schema import SchemaTarget
from llmobs_store.storage import DataRejected, Storage, StorageUnavailable, data_error_code
from tests.store.conftest import ENGINE_DIR, unique_database
from tests.store.test_durability import free_port


def test_a_refused_row_is_data_rejected_with_its_code() -> None:
    storage = Storage(f"chdb://{ENGINE_DIR}", SchemaTarget(unique_database()))
    assert storage.connect()
    with pytest.raises(DataRejected) as refused:
        storage.insert("logs", ['{"time":"1700000000.000000","severity_number":-1}'])
    assert refused.value.code == 72
    assert "Unsigned type must not contain" in str(refused.value)
    with pytest.raises(DataRejected):
        storage.insert("logs", ['{"body":"\ud800"}'])  # not encodable: refused, not retried


def test_an_unreachable_server_is_unavailable_not_refused() -> None:
    storage = Storage(f"http://127.0.0.1:{free_port()}/llmobs", SchemaTarget())
    with pytest.raises(StorageUnavailable) as unavailable:
        storage.insert("logs", ['{"severity_number":1}'])
    assert not isinstance(unavailable.value, DataRejected)
    assert data_error_code(ConnectionRefusedError("connection refused")) is None
    assert data_error_code(RuntimeError("Code: 241. Memory limit exceeded")) is None


def test_too_many_parts_is_the_server_and_too_many_partitions_is_the_data() -> None:
    behind = "Code: 252. DB::Exception: Too many parts (3001). Merges are processing slower"
    assert data_error_code(RuntimeError(behind)) is None  # retried, never bisected
    spread = "Code: 252. DB::Exception: Too many partitions for single INSERT block (more than 100)"
    assert data_error_code(RuntimeError(spread)) == 252  # split: fewer days per part
    assert data_error_code(RuntimeError("Code: 1001. DB::Exception: std::exception")) is None
