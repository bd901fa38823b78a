"""import-linter really guards the layers: a deliberate violation makes it fail.

The component sources are copied to a temporary directory that goes first on PYTHONPATH, a
forbidden import is added to the copy, and the project's own contracts are run against it.
"""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SOURCES = {
    "llmobs_semconv": "components/semconv/src",
    "llmobs_probe": "components/probe/src",
    "llmobs_gateway": "components/gateway_tap/src",
    "llmobs_store": "components/store/src",
    "llmobs_testing": "components/testing/src",
    "llmobs_operator": "operator/src",
}
LINT_IMPORTS = str(Path(sys.executable).with_name("lint-imports"))


def lint_copy(
    tmp_path: Path, bad_module: str | None, bad_source: str
) -> subprocess.CompletedProcess[str]:
    src = tmp_path / "src"
    for package, where in SOURCES.items():
        shutil.copytree(ROOT / where / package, src / package)
    if bad_module:
        (src / bad_module.replace(".", "/")).with_suffix(".py").write_text(bad_source)
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return subprocess.run(
        [LINT_IMPORTS, "--no-cache"],
        cwd=tmp_path,
        env={"PYTHONPATH": str(src), "PATH": str(Path(sys.executable).parent)},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_contracts_hold_on_the_real_sources(tmp_path: Path) -> None:
    result = lint_copy(tmp_path, None, "")
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("module", "source", "broken"),
    [
        ("llmobs_probe._bad", "import llmobs_store\n", "never import each other"),
        ("llmobs_semconv._bad", "import llmobs_gateway\n", "imports nothing of ours"),
        ("llmobs_probe._bad", "import fastapi\n", "never imports server-side"),
    ],
)
def test_a_forbidden_import_fails_the_lint(
    tmp_path: Path, module: str, source: str, broken: str
) -> None:
    result = lint_copy(tmp_path, module, source)
    assert result.returncode != 0
    assert "BROKEN" in result.stdout
    broken_lines = [line for line in result.stdout.splitlines() if "BROKEN" in line]
    assert any(broken in line for line in broken_lines), result.stdout
