"""A real Kubernetes control plane on 127.0.0.1: etcd, kube-apiserver, kube-controller-manager,
kube-scheduler and kwok (a fake node on which pods reach Running), started from the binaries that
:mod:`e2e._binaries` builds.

By hand::

    python -m e2e.cluster up        # build what is missing, start, print how to use it
    eval "$(python -m e2e.cluster env)"; kubectl get nodes
    python -m e2e.cluster down      # stop every process, remove the state

The test session uses :class:`Cluster` directly (see ``e2e/conftest.py``).
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import json
import os
import shutil
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from e2e import _binaries, _certs, _components, _processes

# The order matters: each waits for the one before it.
COMPONENTS = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok")
NODE_NAME = "kwok-node-0"


class ClusterError(RuntimeError):
    """The control plane failed to start or answer; the message carries the relevant log tail."""


class ToolError(subprocess.CalledProcessError):
    """kubectl or helm failed; ``str()`` carries its stderr, which is what a test failure needs."""

    def __str__(self) -> str:
        return f"`{' '.join(map(str, self.cmd))}` exited {self.returncode}: {self.stderr.strip()}"


class ForeignClusterError(RuntimeError):
    """A kubeconfig points at a server this session did not start: refuse to touch it."""


@dataclass
class State:
    """What ``up`` records so that ``env`` and ``down`` (other processes) can find the cluster."""

    directory: str
    apiserver_port: int
    ports: dict[str, int] = field(default_factory=dict)
    pids: dict[str, int] = field(default_factory=dict)
    binaries: dict[str, str] = field(default_factory=dict)
    started_s: float = 0.0
    phases_s: dict[str, float] = field(default_factory=dict)  # seconds from start to each "ready"

    @property
    def server(self) -> str:
        return f"https://127.0.0.1:{self.apiserver_port}"


def state_file(directory: Path) -> Path:
    """Where a cluster in ``directory`` records its :class:`State`."""
    return directory / "state.json"


class Cluster:
    """One control plane living in ``directory`` (certificates, etcd data, logs, kubeconfig)."""

    def __init__(self, directory: Path, binaries: Mapping[str, Path]) -> None:
        self.directory = directory.resolve()
        self.binaries = {name: Path(path) for name, path in binaries.items()}
        self.state: State | None = None
        self._procs: dict[str, subprocess.Popen[bytes]] = {}

    # ------------------------------------------------------------------ paths
    @property
    def kubeconfig(self) -> Path:
        return self.directory / "admin.kubeconfig"

    @property
    def bin_dir(self) -> Path:
        """Unversioned ``kubectl``/``helm``/... links, for a PATH a developer can use."""
        return self.directory / "bin"

    def log(self, component: str) -> Path:
        return self.directory / "logs" / f"{component}.log"

    @property
    def server(self) -> str:
        if self.state is None:
            raise ClusterError("the cluster is not started")
        return self.state.server

    # ------------------------------------------------------------------ lifecycle
    @classmethod
    def attach(cls, directory: Path) -> Cluster:
        """The cluster a previous ``up`` started in ``directory`` (raises if there is none)."""
        path = state_file(directory)
        if not path.is_file():
            raise ClusterError(
                f"no cluster recorded in {directory} (run `python -m e2e.cluster up`)"
            )
        state = State(**json.loads(path.read_text()))
        cluster = cls(Path(state.directory), {k: Path(v) for k, v in state.binaries.items()})
        cluster.state = state
        return cluster

    def start(self, *, tie_to_parent: bool = True, timeout_s: float = 120.0) -> float:
        """Start every component and wait until a pod could run; return the seconds it took.

        ``tie_to_parent``: stop the processes when this Python process exits (tests); ``False``
        leaves them running for a developer (``python -m e2e.cluster up``).
        """
        started = time.monotonic()
        if state_file(self.directory).exists():
            raise ClusterError(f"a cluster is already recorded in {self.directory}: stop it first")
        for stale in ("etcd-data", "logs"):
            shutil.rmtree(self.directory / stale, ignore_errors=True)
        self.directory.mkdir(parents=True, exist_ok=True)
        pki = _certs.create(self.directory / "pki")
        names = ("etcd-client", "etcd-peer", "apiserver", "controller-manager", "scheduler", "kwok")
        ports = dict(zip(names, _processes.free_ports(len(names)), strict=True))
        self.state = State(
            directory=str(self.directory),
            apiserver_port=ports["apiserver"],
            ports=ports,
            binaries={k: str(v) for k, v in self.binaries.items()},
        )
        self._write_kubeconfig(pki)
        self._link_binaries()
        if tie_to_parent:
            atexit.register(self.stop)
        deadline = started + timeout_s
        try:
            # Two waves, each started at once (the API server retries etcd; the controllers retry
            # the API server): the start costs the slowest member of a wave, not their sum.
            for wave in (COMPONENTS[:2], COMPONENTS[2:]):
                for component in wave:
                    self._spawn(component, self._command(component, pki), tie_to_parent)
                self._save_state()
                for component in wave:
                    self._wait_ready(component, deadline)
                    self.state.phases_s[component] = round(time.monotonic() - started, 2)
                if wave[0] == "etcd":
                    self._create_node()
            self._wait_for(deadline, "node Ready and default ServiceAccount", self._schedulable)
        except BaseException:
            self.stop()
            raise
        self.state.started_s = round(time.monotonic() - started, 2)
        self._save_state()
        return self.state.started_s

    def stop(self) -> None:
        """Stop every component (newest first) and forget the recorded state. Idempotent."""
        if self.state is None:
            return
        for component in reversed(COMPONENTS):
            pid = self.state.pids.get(component)
            if pid is None:
                continue
            # A recorded pid may have been recycled: only signal it while it still runs our binary.
            binary = str(self.binaries.get(component, ""))
            if _processes.alive(pid) and binary and binary in _processes.command_line(pid):
                _processes.stop_group(pid)
            proc = self._procs.pop(component, None)
            if proc is not None:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.wait(timeout=5)
        self.state.pids.clear()
        state_file(self.directory).unlink(missing_ok=True)
        self.state = None

    def pids(self) -> dict[str, int]:
        """Process ids of the running components."""
        return dict(self.state.pids) if self.state else {}

    # ------------------------------------------------------------------ clients
    def env(self) -> dict[str, str]:
        """Environment for a child process that must talk to this cluster, and only to it."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("KUBE")}
        env["KUBECONFIG"] = str(self.kubeconfig)
        env["PATH"] = f"{self.bin_dir}{os.pathsep}{env.get('PATH', '')}"
        env["HELM_CACHE_HOME"] = str(self.directory / "helm" / "cache")
        env["HELM_CONFIG_HOME"] = str(self.directory / "helm" / "config")
        env["HELM_DATA_HOME"] = str(self.directory / "helm" / "data")
        return env

    def guard(self, kubeconfig: Path | None = None) -> None:
        """Refuse to go on unless ``kubeconfig`` points only at this session's API server."""
        if self.state is None:
            raise ForeignClusterError("this cluster is not running")
        config = json.loads((kubeconfig or self.kubeconfig).read_text())
        servers = {c["cluster"]["server"] for c in config.get("clusters", [])}
        if servers != {self.state.server}:
            raise ForeignClusterError(
                f"kubeconfig {kubeconfig or self.kubeconfig} names {sorted(servers)}, "
                f"not this session's API server {self.state.server}"
            )
        pid = self.state.pids.get("kube-apiserver")
        if pid is None or not _processes.alive(pid):
            raise ForeignClusterError("this session's kube-apiserver is not running")

    def kubectl(
        self,
        *args: str,
        input: str | None = None,
        check: bool = True,
        timeout_s: float = 60.0,
        kubeconfig: Path | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """Run kubectl against this cluster (guarded); raise with its stderr if ``check`` fails."""
        return self._tool(
            "kubectl",
            args=args,
            input=input,
            check=check,
            timeout_s=timeout_s,
            kubeconfig=kubeconfig,
        )

    def helm(
        self, *args: str, check: bool = True, timeout_s: float = 180.0
    ) -> subprocess.CompletedProcess[str]:
        """Run helm against this cluster (guarded)."""
        return self._tool(
            "helm", args=args, input=None, check=check, timeout_s=timeout_s, kubeconfig=None
        )

    def apply(self, *objects: Mapping[str, Any], namespace: str | None = None) -> None:
        """``kubectl apply`` the given objects (a List when there are several)."""
        body = (
            objects[0]
            if len(objects) == 1
            else {"apiVersion": "v1", "kind": "List", "items": list(objects)}
        )
        scope = ["-n", namespace] if namespace else []
        self.kubectl("apply", *scope, "-f", "-", input=json.dumps(body))

    def wait_for_default_service_account(self, namespace: str, timeout_s: float = 30.0) -> None:
        """Pods are refused until the controller-manager has made the namespace's ``default`` SA."""
        deadline = time.monotonic() + timeout_s
        self._wait_for(
            deadline,
            f"ServiceAccount default in {namespace}",
            lambda: (
                self.kubectl(
                    "get", "serviceaccount", "default", "-n", namespace, check=False
                ).returncode
                == 0
            ),
        )

    def get_json(self, *args: str) -> Any:
        """``kubectl get ARGS -o json``, parsed."""
        return json.loads(self.kubectl("get", *args, "-o", "json").stdout)

    def api_get(self, path: str) -> Any:
        """GET an API path with the admin credentials; the parsed JSON body."""
        self.guard()
        request = urllib.request.Request(self.server + path)
        with urllib.request.urlopen(request, context=self.ssl_context(), timeout=10) as response:
            return json.loads(response.read())

    def ssl_context(self) -> ssl.SSLContext:
        """A client TLS context trusting this cluster's CA and presenting the admin certificate."""
        pki = self.directory / "pki"
        context = ssl.create_default_context(cafile=str(pki / "ca.crt"))
        context.load_cert_chain(str(pki / "admin.crt"), str(pki / "admin.key"))
        return context

    # ------------------------------------------------------------------ internals
    def _tool(
        self,
        name: str,
        *,
        args: Sequence[str],
        input: str | None,
        check: bool,
        timeout_s: float,
        kubeconfig: Path | None,
    ) -> subprocess.CompletedProcess[str]:
        config = kubeconfig or self.kubeconfig
        self.guard(config)
        env = self.env()
        env["KUBECONFIG"] = str(config)
        result = subprocess.run(
            [str(self.bin_dir / name), "--kubeconfig", str(config), *args],
            input=input,
            capture_output=True,
            text=True,
            timeout=timeout_s,
            env=env,
        )
        if check and result.returncode != 0:
            raise ToolError(result.returncode, [name, *args], result.stdout, result.stderr)
        return result

    def _command(self, component: str, pki: _certs.Pki) -> list[str]:
        assert self.state is not None
        return _components.command(
            component, str(self.binaries[component]), ports=self.state.ports,
            directory=self.directory, kubeconfig=self.kubeconfig, pki=pki,
        )  # fmt: skip

    def _spawn(self, component: str, command: list[str], tie_to_parent: bool) -> None:
        assert self.state is not None
        proc = _processes.spawn(command, self.log(component), tie_to_parent=tie_to_parent)
        self._procs[component] = proc
        self.state.pids[component] = proc.pid

    def _save_state(self) -> None:
        assert self.state is not None
        state_file(self.directory).write_text(json.dumps(asdict(self.state), indent=2))

    def _wait_ready(self, component: str, deadline: float) -> None:
        assert self.state is not None
        p = self.state.ports
        if component == "etcd":
            url, context = f"http://127.0.0.1:{p['etcd-client']}/health", None
        elif component == "kube-apiserver":
            url, context = f"{self.state.server}/readyz", self.ssl_context()
        else:
            port = {
                "kube-controller-manager": p["controller-manager"],
                "kube-scheduler": p["scheduler"],
                "kwok": p["kwok"],
            }[component]
            scheme = "http" if component == "kwok" else "https"
            url, context = f"{scheme}://127.0.0.1:{port}/healthz", _insecure_context()

        def answers() -> bool:
            self._check_alive(component)
            try:
                with urllib.request.urlopen(url, context=context, timeout=2) as response:
                    return bool(response.status == 200)
            except (urllib.error.URLError, OSError):
                return False

        self._wait_for(deadline, f"{component} healthy at {url}", answers)

    def _check_alive(self, component: str) -> None:
        proc = self._procs.get(component)
        if proc is not None and proc.poll() is not None:
            raise ClusterError(
                f"{component} exited with code {proc.returncode}:\n{self._tail(component)}"
            )

    def _tail(self, component: str, lines: int = 25) -> str:
        try:
            return "\n".join(self.log(component).read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def _wait_for(self, deadline: float, what: str, probe: Any) -> None:
        delay = 0.05
        while True:
            if probe():
                return
            if time.monotonic() > deadline:
                logs = "\n".join(f"--- {c}:\n{self._tail(c, 10)}" for c in self._procs)
                raise ClusterError(f"timed out waiting for {what}\n{logs}")
            time.sleep(delay)
            delay = min(delay * 1.5, 0.5)

    def _create_node(self) -> None:
        self.kubectl("apply", "-f", "-", input=json.dumps(_components.node(NODE_NAME)))

    def _schedulable(self) -> bool:
        for c in COMPONENTS:
            self._check_alive(c)
        try:
            node = self.api_get(f"/api/v1/nodes/{NODE_NAME}")
            self.api_get("/api/v1/namespaces/default/serviceaccounts/default")
        except (urllib.error.URLError, OSError):
            return False
        conditions = node.get("status", {}).get("conditions", [])
        return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)

    def _write_kubeconfig(self, pki: _certs.Pki) -> None:
        assert self.state is not None
        config = _components.admin_kubeconfig(self.state.server, pki)
        self.kubeconfig.write_text(json.dumps(config, indent=2))
        self.kubeconfig.chmod(0o600)

    def _link_binaries(self) -> None:
        self.bin_dir.mkdir(parents=True, exist_ok=True)
        for name, path in self.binaries.items():
            link = self.bin_dir / name
            link.unlink(missing_ok=True)
            link.symlink_to(path)

    def write_token_kubeconfig(self, path: Path, token: str, namespace: str) -> Path:
        """A kubeconfig for this cluster that authenticates with a ServiceAccount ``token``."""
        config = json.loads(self.kubeconfig.read_text())
        config["users"] = [{"name": "token", "user": {"token": token}}]
        config["contexts"][0]["context"].update(user="token", namespace=namespace)
        path.write_text(json.dumps(config, indent=2))
        path.chmod(0o600)
        return path


def _insecure_context() -> ssl.SSLContext:
    # Only for /healthz of our own children, which serve self-signed certificates on 127.0.0.1.
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def default_directory() -> Path:
    """Where ``python -m e2e.cluster up`` keeps its cluster unless ``--dir`` says otherwise."""
    return _binaries.cache_root() / "cluster"


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m e2e.cluster up|down|env|build|status``."""
    parser = argparse.ArgumentParser(
        prog="python -m e2e.cluster", description=__doc__.split("\n")[0]
    )
    parser.add_argument("command", choices=["up", "down", "env", "build", "status"])
    parser.add_argument("--dir", type=Path, default=default_directory(), help="cluster directory")
    args = parser.parse_args(argv)
    if args.command == "build":
        return _binaries.main([])
    if args.command == "up":
        try:
            binaries = _binaries.ensure()
            cluster = Cluster(args.dir, binaries)
            seconds = cluster.start(tie_to_parent=False)
        except (ClusterError, _binaries.BuildError, FileNotFoundError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        print(f"control plane up in {seconds:.1f}s at {cluster.server}; logs in {args.dir}/logs")
        print(
            f'use it with: eval "$(python -m e2e.cluster env --dir {args.dir})"; kubectl get nodes'
        )
        return 0
    try:
        cluster = Cluster.attach(args.dir)
    except ClusterError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if args.command == "down":
        cluster.stop()
        print("control plane stopped")
    elif args.command == "env":
        env = cluster.env()
        print(f"export KUBECONFIG={env['KUBECONFIG']}")
        print(f"export PATH={cluster.bin_dir}:$PATH")
    else:
        print(json.dumps(asdict(cluster.state) if cluster.state else {}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
