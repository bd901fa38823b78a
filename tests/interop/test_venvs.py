"""Family environments: built once per lock, rebuilt when the lock changes, never half-built."""

from __future__ import annotations

from pathlib import Path

import pytest

from llmobs_testing import prereq
from tests.interop import venvs


@pytest.fixture
def envs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty envs/ tree and cache of our own (the real ones stay untouched)."""
    try:
        venvs.find_python()
    except venvs.BuildError as exc:
        prereq.require(False, f"CPython {venvs.PYTHON}", str(exc))
    monkeypatch.setattr(venvs, "ENVS", tmp_path / "envs")
    monkeypatch.setenv("LLMOBS_CACHE", str(tmp_path / "cache"))
    (tmp_path / "envs" / "tiny").mkdir(parents=True)
    (tmp_path / "envs" / "tiny" / "requirements.in").write_text("")
    return tmp_path / "envs"


def test_an_environment_is_built_once_per_lock_and_the_old_one_goes(envs: Path) -> None:
    lock = envs / "tiny" / "requirements.txt"
    lock.write_text("# nothing to install\n")
    python, spent = venvs.ensure("tiny")
    assert python.is_file()
    assert spent > 0
    assert venvs.ensure("tiny") == (python, 0.0)  # warm: nothing to do
    first = venvs.env_dir("tiny")
    lock.write_text("# nothing to install, differently\n")
    second, spent = venvs.ensure("tiny")
    assert spent > 0
    assert second.parent.parent == venvs.env_dir("tiny") != first
    assert not first.exists(), "the environment of the earlier lock is removed"


def test_a_lock_that_cannot_install_is_one_error_and_leaves_nothing_behind(envs: Path) -> None:
    (envs / "tiny" / "requirements.txt").write_text("this is ((( not a requirement\n")
    with pytest.raises(venvs.BuildError, match="building the tiny environment failed"):
        venvs.ensure("tiny")
    assert not venvs.env_dir("tiny").exists()
    assert not venvs.is_built("tiny")


def test_the_checked_in_locks_pin_the_app_alike_and_hash_every_package() -> None:
    pins = [
        line.split("#")[0].strip()
        for line in (venvs.ENVS / "app.in").read_text().splitlines()
        if line.split("#")[0].strip()
    ]
    assert pins
    for env in venvs.env_names():
        lock = venvs.lock_file(env).read_text()
        for pin in pins:
            assert f"\n{pin} \\" in lock, f"{env}: {pin} is not what the lock pins"
        packages = [line for line in lock.splitlines() if line and line[0].isalnum()]
        assert packages
        assert all("==" in line and line.endswith("\\") for line in packages), env
