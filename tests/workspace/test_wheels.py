"""Each component builds its own wheel, and the probe's wheel stays light."""

import subprocess
import sys
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
COMPONENTS = {
    "components/semconv": "llmobs_semconv",
    "components/probe": "llmobs_probe",
    "components/gateway_tap": "llmobs_gateway",
    "components/store": "llmobs_store",
    "components/testing": "llmobs_testing",
    "components/cli": "llmobs_cli",
    "operator": "llmobs_operator",
}


def uv() -> list[str]:
    found = Path(sys.executable).with_name("uv")
    return [str(found)] if found.exists() else [sys.executable, "-m", "uv"]


@pytest.fixture(scope="module")
def wheels(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    for component in COMPONENTS:
        subprocess.run(
            [*uv(), "build", "--quiet", "--wheel", "--out-dir", str(out), str(ROOT / component)],
            check=True,
            timeout=300,
        )
    return out


@pytest.mark.parametrize(("component", "package"), COMPONENTS.items())
def test_component_builds_a_wheel_with_its_package(
    wheels: Path, component: str, package: str
) -> None:
    dist = package.replace("_cli", "").replace("_", "-") if package != "llmobs_cli" else "llmobs"
    matches = list(wheels.glob(dist.replace("-", "_") + "-*.whl"))
    assert len(matches) == 1, f"{component}: {sorted(p.name for p in wheels.iterdir())}"
    names = zipfile.ZipFile(matches[0]).namelist()
    assert f"{package}/__init__.py" in names
    assert f"{package}/py.typed" in names


def test_probe_wheel_depends_only_on_light_packages(wheels: Path) -> None:
    wheel = next(wheels.glob("llmobs_probe-*.whl"))
    with zipfile.ZipFile(wheel) as archive:
        meta_name = next(n for n in archive.namelist() if n.endswith("METADATA"))
        meta = Parser().parsestr(archive.read(meta_name).decode())
    requires = [r.split(";")[0] for r in meta.get_all("Requires-Dist") or [] if "extra ==" not in r]
    heavy = ("fastapi", "kopf", "clickhouse", "chdb", "uvicorn", "typer", "pydantic")
    assert not [r for r in requires if r.lower().startswith(heavy)], requires
    assert meta["Requires-Python"] == ">=3.9"
