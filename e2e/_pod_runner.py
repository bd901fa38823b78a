"""Run a pod's containers as local processes, from the spec the API server admitted.

kwok pods never execute, so to prove what the webhook wrote actually works, this takes the pod
object from the API server and runs its containers here, in order (init containers first):

* each volume becomes a temporary directory; each ``volumeMount`` maps its container path there;
* each image's own files are given as a mapping too (the probe image's ``/llmobs/probe`` is the
  bundle built by the project's own bundle command; the app image's ``/app`` holds the app);
* command arguments and env values (``PYTHONPATH`` included) are rewritten through those maps;
* env is resolved as the kubelet would: ``valueFrom.fieldRef`` from the pod itself,
  ``valueFrom.secretKeyRef`` from the Secrets handed in (taken from the API server; a missing
  ``optional`` one leaves the variable unset), then ``$(VAR)`` references to earlier variables;
* the one thing with no local equivalent, cluster DNS, is a service map from
  ``NAME.NAMESPACE.svc[.cluster.local]:PORT`` to a local ``host:port``.

The process gets only that environment (plus PATH for the image's interpreter), like a container.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

_SERVICE = re.compile(
    r"\b([a-z0-9]([-a-z0-9]*[a-z0-9])?)\.([a-z0-9-]+)\.svc(\.cluster\.local)?:(\d+)"
)
_VAR_REF = re.compile(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)")


def _field(pod: Mapping[str, Any], path: str) -> str:
    """A downward-API ``fieldPath`` (metadata.name, metadata.labels['x'], spec.nodeName, ...)."""
    match = re.fullmatch(r"metadata\.(labels|annotations)\['([^']+)'\]", path)
    if match:
        return str(pod["metadata"].get(match.group(1), {}).get(match.group(2), ""))
    node: Any = pod
    for part in path.split("."):
        node = node.get(part, "") if isinstance(node, Mapping) else ""
    return str(node)


@dataclass
class LocalPod:
    """One admitted pod, runnable here container by container."""

    pod: Mapping[str, Any]
    root: Path
    image_files: Mapping[str, Mapping[str, Path]] = field(
        default_factory=dict
    )  # image → {path: dir}
    services: Mapping[str, str] = field(default_factory=dict)  # "name.ns:port" → "127.0.0.1:port"
    image_path: Mapping[str, str] = field(default_factory=dict)  # image → PATH of its binaries
    secrets: Mapping[str, Mapping[str, str]] = field(default_factory=dict)  # name → decoded data

    def volume_dir(self, name: str) -> Path:
        """The temporary directory standing in for volume ``name``."""
        path = self.root / "volumes" / name
        path.mkdir(parents=True, exist_ok=True)
        return path

    def mounts(self, container: Mapping[str, Any]) -> list[tuple[str, Path]]:
        """(container path, local directory), longest container path first."""
        pairs = [
            (m["mountPath"], self.volume_dir(m["name"])) for m in container.get("volumeMounts", [])
        ]
        pairs += list(self.image_files.get(container["image"], {}).items())
        return sorted(pairs, key=lambda p: len(p[0]), reverse=True)

    def translate(self, value: str, mounts: list[tuple[str, Path]]) -> str:
        """Rewrite container paths (also inside ``a:b:c`` lists) and service addresses."""
        parts = []
        for segment in value.split(":") if value.startswith("/") else [value]:
            parts.append(self._local_path(segment, mounts))
        joined = ":".join(parts)

        def service(match: re.Match[str]) -> str:
            key = f"{match.group(1)}.{match.group(3)}:{match.group(5)}"
            if key not in self.services:
                raise KeyError(f"no local address for service {key}")
            return self.services[key]

        return _SERVICE.sub(service, joined)

    @staticmethod
    def _local_path(segment: str, mounts: list[tuple[str, Path]]) -> str:
        for container_path, local in mounts:
            prefix = container_path.rstrip("/")
            if segment == container_path or segment.startswith(prefix + "/"):
                return str(local) + segment[len(prefix) :]
        return segment

    def env(self, container: Mapping[str, Any]) -> dict[str, str]:
        """The container's environment as the kubelet would build it, translated for here."""
        resolved: dict[str, str] = {}
        for item in container.get("env", []):
            source = item.get("valueFrom")
            if source is not None and "secretKeyRef" in source:
                found = self._secret_value(item["name"], source["secretKeyRef"])
                if found is None:
                    continue
                value = found
            elif source is not None:
                ref = source.get("fieldRef")
                if ref is None:
                    raise NotImplementedError(
                        f"env {item['name']}: only fieldRef and secretKeyRef are supported"
                    )
                value = _field(self.pod, ref["fieldPath"])
            else:
                value = _VAR_REF.sub(
                    lambda m: resolved.get(m.group(1), m.group(0)), str(item.get("value", ""))
                )
            resolved[item["name"]] = value
        mounts = self.mounts(container)
        return {k: self.translate(v, mounts) for k, v in resolved.items()}

    def _secret_value(self, name: str, ref: Mapping[str, Any]) -> str | None:
        """A ``secretKeyRef``'s value; None for a missing optional one (the kubelet skips it)."""
        value = self.secrets.get(ref["name"], {}).get(ref["key"])
        if value is None and not ref.get("optional"):
            # The kubelet would not start the container (CreateContainerConfigError).
            raise KeyError(f"env {name}: Secret {ref['name']} has no key {ref['key']}")
        return value

    def run(
        self, container: Mapping[str, Any], timeout_s: float = 120.0
    ) -> subprocess.CompletedProcess[str]:
        """Run one container's command + args to completion; its output is captured."""
        mounts = self.mounts(container)
        argv = [self.translate(a, mounts) for a in [*container.get("command", []),
                                                      *container.get("args", [])]]  # fmt: skip
        env = self.env(container)
        env.setdefault("HOME", str(self.volume_dir("home")))
        env["PATH"] = self.image_path.get(container["image"], "/usr/bin:/bin")
        workdir = self.translate(container.get("workingDir", "/"), mounts)
        if not Path(workdir).is_dir():
            workdir = str(self.volume_dir("workdir"))
        return subprocess.run(
            argv, env=env, cwd=workdir, capture_output=True, text=True, timeout=timeout_s,
            executable=_which(argv[0], env["PATH"]),
        )  # fmt: skip

    def run_all(self, timeout_s: float = 120.0) -> dict[str, subprocess.CompletedProcess[str]]:
        """Init containers in order (stopping at a failure, like the kubelet), then the app's."""
        results: dict[str, subprocess.CompletedProcess[str]] = {}
        spec = self.pod["spec"]
        for container in spec.get("initContainers", []):
            results[container["name"]] = done = self.run(container, timeout_s)
            if done.returncode != 0:
                return results
        for container in spec["containers"]:
            results[container["name"]] = self.run(container, timeout_s)
        return results


def _which(name: str, path: str) -> str:
    if "/" in name:
        return name
    for directory in path.split(":"):
        candidate = Path(directory) / name
        if candidate.is_file():
            return str(candidate)
    raise FileNotFoundError(f"{name} not found on the image's PATH {path}")
