"""Shared fixtures for the operator tests: real pod specs loaded from tests/operator/fixtures."""

from pathlib import Path
from typing import Any

import pytest
import yaml

FIXTURES = Path(__file__).parent / "fixtures"


def load(name: str) -> dict[str, Any]:
    """A fixture document as a dict."""
    data: dict[str, Any] = yaml.safe_load((FIXTURES / name).read_text())
    return data


@pytest.fixture
def pod_loader() -> Any:
    """Load a pod spec fixture by file name."""
    return load
