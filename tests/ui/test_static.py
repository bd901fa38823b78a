"""The web UI's static files, without a browser: what the store serves is complete and parses.

index.html's assets exist, every ES module's imports resolve to a file that exports the names
imported, the modules parse (node --check, when node is on the machine), and the vendored ECharts
is the version package-lock.json pins (``make ui`` refreshes it).
"""

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from llmobs_testing.prereq import require

ROOT = Path(__file__).resolve().parents[2]
STATIC = ROOT / "components/store/src/llmobs_store/ui/static"
LOCK = ROOT / "components/store/ui/package-lock.json"
MODULES = sorted((STATIC / "js").rglob("*.js"))
IMPORT = re.compile(r'^import \{([^}]*)\} from "([^"]+)";', re.M)


def test_index_references_only_files_that_exist() -> None:
    html = (STATIC / "index.html").read_text(encoding="utf-8")
    refs = re.findall(r'(?:href|src)="/ui/([^"]+)"', html)
    assert {"app.css", "js/main.js", "vendor/echarts.common.min.js"} <= set(refs)
    for ref in refs:
        assert (STATIC / ref).is_file(), ref


@pytest.mark.parametrize("module", MODULES, ids=lambda p: str(p.relative_to(STATIC)))
def test_imports_resolve_to_exported_names(module: Path) -> None:
    for names, target in IMPORT.findall(module.read_text(encoding="utf-8")):
        source = (module.parent / target).resolve()
        assert source.is_file(), f"{module.name} imports missing {target}"
        exported = set(
            re.findall(
                r"^export (?:async )?(?:function|const|class) (\w+)",
                source.read_text(encoding="utf-8"),
                re.M,
            )
        )
        for name in (n.strip() for n in names.split(",") if n.strip()):
            assert name in exported, f"{module.name} imports {name} that {target} does not export"


@pytest.mark.parametrize("module", MODULES, ids=lambda p: str(p.relative_to(STATIC)))
def test_modules_parse(module: Path) -> None:
    node = shutil.which("node")
    require(node is not None, "node (to syntax-check the UI's modules)", "apt-get install nodejs")
    assert node is not None
    result = subprocess.run(
        [node, "--experimental-default-type=module", "--check", str(module)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr


def test_vendored_echarts_is_the_locked_version_with_its_licence() -> None:
    locked = json.loads(LOCK.read_text(encoding="utf-8"))["packages"]["node_modules/echarts"]
    vendored = (STATIC / "vendor/echarts.common.min.js").read_text(encoding="utf-8")
    assert f'version="{locked["version"]}"' in vendored
    assert "Apache License" in (STATIC / "vendor/ECHARTS-LICENSE").read_text(encoding="utf-8")
