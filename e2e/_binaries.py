"""The control plane's binaries, built from source with Go and cached by version.

There is no Docker engine here and no release tarballs may be fetched, but the Go module proxy is
reachable, so every binary is compiled from its published module. Kubernetes itself cannot be
``go install``-ed (k8s.io/kubernetes maps its staging modules to ``v0.0.0`` with local ``replace``
lines), so a throw-away wrapper module pins each staging module to the matching published
``v0.N.P`` release and builds the commands from there; etcd needs the same trick. Binaries land in
``~/.cache/llmobs/bin/NAME-vVERSION`` and are built only when missing.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

KUBERNETES_VERSION = "1.36.3"
STAGING_VERSION = "0.36.3"  # the staging modules' tag that ships with KUBERNETES_VERSION
ETCD_VERSION = "3.6.16"
KWOK_VERSION = "0.8.0"
HELM_VERSION = "3.21.4"

# k8s.io/kubernetes' staging modules for 1.36: each is pinned to STAGING_VERSION in the wrapper.
STAGING_MODULES = (
    "api",
    "apiextensions-apiserver",
    "apimachinery",
    "apiserver",
    "cli-runtime",
    "client-go",
    "cloud-provider",
    "cluster-bootstrap",
    "code-generator",
    "component-base",
    "component-helpers",
    "controller-manager",
    "cri-api",
    "cri-client",
    "cri-streaming",
    "csi-translation-lib",
    "dynamic-resource-allocation",
    "endpointslice",
    "externaljwt",
    "kms",
    "kube-aggregator",
    "kube-controller-manager",
    "kube-proxy",
    "kube-scheduler",
    "kubectl",
    "kubelet",
    "metrics",
    "mount-utils",
    "pod-security-admission",
    "sample-apiserver",
    "streaming",
)

KUBE_COMMANDS = ("kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubectl")
ALL_BINARIES = (*KUBE_COMMANDS, "etcd", "kwok", "helm")


def cache_root() -> Path:
    """``$LLMOBS_CACHE`` (or ``$LLMOBS_CACHE_DIR``), else ``$XDG_CACHE_HOME/llmobs``, else
    ``~/.cache/llmobs``: the same directory scripts/bootstrap-extras.sh uses."""
    explicit = os.environ.get("LLMOBS_CACHE") or os.environ.get("LLMOBS_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "llmobs"


def bin_dir() -> Path:
    """The shared directory of version-suffixed binaries (shared with the operator's helm)."""
    return cache_root() / "bin"


def version_of(name: str) -> str:
    """The pinned version of one binary."""
    if name in KUBE_COMMANDS:
        return KUBERNETES_VERSION
    return {"etcd": ETCD_VERSION, "kwok": KWOK_VERSION, "helm": HELM_VERSION}[name]


def binary_path(name: str) -> Path:
    """Where the cached binary ``name`` lives (it may not exist yet)."""
    return bin_dir() / f"{name}-v{version_of(name)}"


def missing(names: Sequence[str] = ALL_BINARIES) -> list[str]:
    """The binaries among ``names`` that are not built yet."""
    return [n for n in names if not binary_path(n).is_file()]


def go_available() -> bool:
    """True when a Go toolchain is on PATH."""
    return shutil.which("go") is not None


class BuildError(RuntimeError):
    """A binary could not be built; the message carries the tail of the Go output."""


def _go_env() -> dict[str, str]:
    env = dict(os.environ)
    # Never download a toolchain, and build static binaries (no C compiler needed).
    env.update(GOTOOLCHAIN="local", CGO_ENABLED="0", GOFLAGS="-mod=mod")
    return env


def _say(message: str) -> None:
    print(f"[e2e-binaries] {message}", file=sys.stderr, flush=True)


def _run_go(
    args: Sequence[str], cwd: Path, label: str, extra_env: dict[str, str] | None = None
) -> None:
    """Run go under ``nice``, with a heartbeat line every 30 s so that a long build shows life."""
    command = ["nice", "-n", "10", "go", *args]
    started = time.monotonic()
    lines: list[str] = []
    counter = {"packages": 0}
    done = threading.Event()

    def heartbeat() -> None:
        while not done.wait(30):
            elapsed = time.monotonic() - started
            _say(f"{label}: {counter['packages']} packages so far, {elapsed:.0f}s elapsed")

    beat = threading.Thread(target=heartbeat, daemon=True)
    beat.start()
    try:
        proc = subprocess.Popen(
            command,
            cwd=cwd,
            env={**_go_env(), **(extra_env or {})},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        assert proc.stdout is not None
        for line in proc.stdout:
            counter["packages"] += 1
            lines.append(line.rstrip())
            del lines[:-40]
        code = proc.wait()
    finally:
        done.set()
    if code != 0:
        tail = "\n".join(lines)
        raise BuildError(f"{label} failed (go {' '.join(args)} in {cwd}, exit {code}):\n{tail}")


def _write_module(directory: Path, module: str, go_mod_extra: str, imports: Sequence[str]) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    go_mod = directory / "go.mod"
    if not go_mod.exists():
        go_mod.write_text(f"module {module}\n\ngo 1.24\n{go_mod_extra}")
    body = "\n".join(f'\t_ "{path}"' for path in imports)
    (directory / "tools.go").write_text(
        "//go:build tools\n\n// Package tools pins the commands this module builds.\n"
        f"package tools\n\nimport (\n{body}\n)\n"
    )


def _kubernetes_module() -> Path:
    directory = cache_root() / f"k8s-{KUBERNETES_VERSION}"
    replaces = "".join(
        f"replace k8s.io/{m} => k8s.io/{m} v{STAGING_VERSION}\n" for m in STAGING_MODULES
    )
    _write_module(
        directory,
        "llmobs.local/k8s",
        "\n" + replaces,
        [f"k8s.io/kubernetes/cmd/{c}" for c in KUBE_COMMANDS],
    )
    if (
        not (directory / "go.sum").exists()
        or "k8s.io/kubernetes" not in (directory / "go.mod").read_text()
    ):
        _run_go(["get", f"k8s.io/kubernetes@v{KUBERNETES_VERSION}"], directory, "k8s: go get")
        _run_go(["mod", "tidy"], directory, "k8s: go mod tidy")
    return directory


def _etcd_module() -> Path:
    directory = cache_root() / f"etcd-{ETCD_VERSION}"
    _write_module(directory, "llmobs.local/etcd", "", ["go.etcd.io/etcd/server/v3"])
    if "go.etcd.io/etcd/server/v3" not in (directory / "go.mod").read_text():
        _run_go(["get", f"go.etcd.io/etcd/server/v3@v{ETCD_VERSION}"], directory, "etcd: go get")
        _run_go(["mod", "tidy"], directory, "etcd: go mod tidy")
    return directory


def _build_in(module_dir: Callable[[], Path], package: str, name: str) -> None:
    directory = module_dir()
    target = binary_path(name)
    partial = target.with_name(target.name + ".partial")
    stamp = "-s -w" + (
        f" -X k8s.io/component-base/version.gitVersion=v{KUBERNETES_VERSION}"
        f" -X k8s.io/component-base/version.gitMajor=1"
        f" -X k8s.io/component-base/version.gitMinor={KUBERNETES_VERSION.split('.')[1]}"
        if name in KUBE_COMMANDS
        else ""
    )
    _run_go(["build", "-v", "-ldflags", stamp, "-o", str(partial), package], directory, name)
    partial.replace(target)  # atomic: a half-written binary never looks cached


def _install_with_gobin(package: str, name: str) -> None:
    """``go install pkg@version`` into a private GOBIN, then move it into the shared cache."""
    target = binary_path(name)
    gobin = cache_root() / "gobin" / f"{name}-v{version_of(name)}"
    gobin.mkdir(parents=True, exist_ok=True)
    _run_go(
        ["install", "-v", "-ldflags", "-s -w", f"{package}@v{version_of(name)}"],
        gobin,
        name,
        {"GOBIN": str(gobin)},
    )
    partial = target.with_name(target.name + ".partial")
    shutil.copy2(gobin / Path(package).name, partial)
    partial.replace(target)


def _reuse_bootstrap_helm() -> bool:
    """Reuse the helm that scripts/bootstrap-extras.sh builds for the chart tests, if any."""
    built = cache_root() / f"helm-v{HELM_VERSION}" / "helm"
    if not built.is_file():
        return False
    target = binary_path("helm")
    partial = target.with_name(target.name + ".partial")
    shutil.copy2(built, partial)
    partial.replace(target)
    return True


def _builder(name: str) -> Callable[[], None]:
    if name in KUBE_COMMANDS:
        return lambda: _build_in(_kubernetes_module, f"k8s.io/kubernetes/cmd/{name}", name)
    if name == "etcd":
        return lambda: _build_in(_etcd_module, "go.etcd.io/etcd/server/v3", name)
    if name == "kwok":
        return lambda: _install_with_gobin("sigs.k8s.io/kwok/cmd/kwok", name)
    if name == "helm":
        return lambda: _install_with_gobin("helm.sh/helm/v3/cmd/helm", name)
    raise KeyError(name)


def ensure(names: Sequence[str] = ALL_BINARIES) -> dict[str, Path]:
    """Build every binary in ``names`` that is not cached yet; return all their paths.

    Raises :class:`BuildError` (or ``FileNotFoundError`` without Go) when a build fails.
    """
    if "helm" in missing(names):
        _reuse_bootstrap_helm()
    todo = missing(names)
    if todo:
        if not go_available():
            raise FileNotFoundError(
                "the Go toolchain (>= 1.26) is needed to build the e2e control plane: "
                "install it from https://go.dev/dl/ and put `go` on PATH"
            )
        bin_dir().mkdir(parents=True, exist_ok=True)
        _say(f"building {len(todo)} binaries into {bin_dir()}: {', '.join(todo)}")
        _say("a cold build compiles Kubernetes from source: expect tens of minutes on 2 cores")
    total_started = time.monotonic()
    for index, name in enumerate(todo, start=1):
        started = time.monotonic()
        _say(f"({index}/{len(todo)}) building {name} v{version_of(name)} ...")
        _builder(name)()
        _say(f"({index}/{len(todo)}) {name} built in {time.monotonic() - started:.0f}s")
    if todo:
        _say(f"all built in {time.monotonic() - total_started:.0f}s")
    return {n: binary_path(n) for n in names}


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m e2e._binaries [NAME...]``: build what is missing, print the paths."""
    names = list(argv if argv is not None else sys.argv[1:]) or list(ALL_BINARIES)
    try:
        paths = ensure(names)
    except (BuildError, FileNotFoundError) as exc:
        _say(str(exc))
        return 1
    for name, path in paths.items():
        print(f"{name}\t{path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
