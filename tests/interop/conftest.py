"""Fixtures of the compatibility suite: one real store for the session, the family runs."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.interop import _stack
from tests.interop._runs import Runs


@pytest.fixture(scope="session")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runs]:
    """Each family run at most once, against one ``llmobs store serve`` for the session."""
    work = tmp_path_factory.mktemp("interop")
    with _stack.store(work) as store:
        yield Runs(store, work)
