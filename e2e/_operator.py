"""The chart's operator as a local process, authenticated as the chart's own ServiceAccount.

Pods on kwok never run, so the operator the chart deploys never starts; instead the suite runs
``llmobs operator run`` here with a bearer token that the API server issues for the chart's
ServiceAccount (TokenRequest), so every call it makes is authorised by the chart's RBAC and
nothing else. Its log is watched: any 403 from the API server fails the test that caused it.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from e2e import _processes
from e2e.cluster import Cluster

# The API server's RBAC denial ("... is forbidden: User "system:serviceaccount:..." cannot list
# resource "pods" ..."); a 403 for other reasons (a namespace being deleted) is not an RBAC gap.
_FORBIDDEN = re.compile(r"is forbidden: User |cannot [a-z]+ resource ")


@dataclass
class OperatorProcess:
    """One ``llmobs operator run`` child process, restartable (for the "operator stopped" case)."""

    cluster: Cluster
    namespace: str  # the chart's release namespace
    service_account: str
    directory: Path
    peering: str = "llmobs"
    # The chart's default: drift repair and status refresh are event-driven, the timer a backstop.
    resync_s: float = 60.0
    extra_env: dict[str, str] = field(default_factory=dict)
    port: int = 0
    liveness_port: int = 0
    proc: subprocess.Popen[bytes] | None = None
    _log_offset: int = field(default=0, repr=False)

    @property
    def log(self) -> Path:
        return self.directory / "operator.log"

    @property
    def webhook_url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def kubeconfig(self) -> Path:
        """A kubeconfig holding a fresh token of the chart's ServiceAccount (and nothing else)."""
        token = self.cluster.kubectl(
            "create", "token", self.service_account, "-n", self.namespace, "--duration=2h"
        ).stdout.strip()
        path = self.cluster.write_token_kubeconfig(
            self.directory / "operator.kubeconfig", token, self.namespace
        )
        self.cluster.guard(path)
        return path

    def start(self, timeout_s: float = 60.0) -> None:
        """Start the operator and wait until its liveness endpoint and webhook port answer."""
        if self.proc is not None:
            raise RuntimeError("operator already running")
        self.directory.mkdir(parents=True, exist_ok=True)
        if not self.port:
            self.port, self.liveness_port = _processes.free_ports(2)
        kubeconfig = self.kubeconfig()
        env = self.cluster.env()
        env["KUBECONFIG"] = str(kubeconfig)
        env["LLMOBS_OPERATOR_RESYNC_SECONDS"] = str(self.resync_s)
        env.update(self.extra_env)
        command = [
            str(Path(sys.executable).with_name("llmobs")), "operator", "run",
            "--host", "127.0.0.1", "--port", str(self.port),
            "--namespace", self.namespace, "--webhook-url", self.webhook_url,
            "--kubeconfig", str(kubeconfig), "--peering", self.peering,
            "--liveness-port", str(self.liveness_port),
        ]  # fmt: skip
        self.proc = _processes.spawn(command, self.log, tie_to_parent=True, env=env)
        deadline = time.monotonic() + timeout_s
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"operator exited ({self.proc.returncode}):\n{self.tail()}")
            if self._healthy():
                return
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"operator not healthy within {timeout_s:.0f}s:\n{self.tail()}")
            time.sleep(0.2)

    def _healthy(self) -> bool:
        try:
            url = f"http://127.0.0.1:{self.liveness_port}/healthz"
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status != 200:
                    return False
        except (urllib.error.URLError, OSError):
            return False
        import socket

        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=2):
                return True
        except OSError:
            return False

    def stop(self) -> None:
        """Stop the operator process (its whole process group)."""
        if self.proc is None:
            return
        _processes.stop_group(self.proc.pid, grace_s=15)
        self.proc.wait(timeout=5)
        self.proc = None

    def tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def new_forbidden_lines(self) -> list[str]:
        """Lines logged since the last call that show the API server refusing the operator."""
        try:
            text = self.log.read_text(errors="replace")
        except OSError:
            return []
        fresh, self._log_offset = text[self._log_offset :], len(text)
        return [line for line in fresh.splitlines() if _FORBIDDEN.search(line)]
