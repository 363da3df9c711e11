"""kwokctl, driven as a subprocess with argument lists, and the meaning of its failures.

kwokctl's binary runtime runs etcd, kube-apiserver, kube-controller-manager, kube-scheduler and
kwok-controller as local processes. Every binary is passed explicitly so kwokctl never downloads
anything, and the controller-manager gets the hostPath provisioner so claims bind.
"""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from kfdeploy.errors import PlatformError
from kfdeploy.tools import find_tool, tool_env, tool_versions

# tool name -> KwokctlConfiguration option naming its binary
BINARY_OPTIONS = {
    "kube-apiserver": "kubeApiserverBinary",
    "kube-controller-manager": "kubeControllerManagerBinary",
    "kube-scheduler": "kubeSchedulerBinary",
    "kubectl": "kubectlBinary",
    "etcd": "etcdBinary",
    "kwok": "kwokControllerBinary",
}
COMPONENTS = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler",
              "kwok-controller")
PORT_IN_USE = re.compile(r"(?:listen tcp|bind)[^\n]*?:(\d{2,5})[^\n]*address already in use")


def kwokctl_config(binaries: Mapping[str, str], versions: Mapping[str, str]) -> dict[str, Any]:
    """The KwokctlConfiguration for a local, download-free, fast-starting cluster."""
    options: dict[str, Any] = {
        "runtime": "binary",
        "bindAddress": "127.0.0.1",
        "disableQPSLimits": True,
        "kubeVersion": versions.get("KUBE_VERSION", ""),
        "etcdVersion": versions.get("ETCD_VERSION", "").lstrip("v"),
        "kwokVersion": versions.get("KWOK_VERSION", ""),
    }
    options.update({BINARY_OPTIONS[tool]: path for tool, path in sorted(binaries.items())})
    return {
        "apiVersion": "config.kwok.x-k8s.io/v1alpha1",
        "kind": "KwokctlConfiguration",
        "options": {k: v for k, v in options.items() if v != ""},
        "componentsPatches": [{
            "name": "kube-controller-manager",
            "extraArgs": [{"key": "enable-hostpath-provisioner", "value": "true"}],
        }],
    }


def explain_failure(command: Sequence[str], name: str, output: str) -> PlatformError:
    """A PlatformError that says what went wrong and what to do, from kwokctl's output."""
    shown = " ".join(command[:3]) + f" --name {name}"
    port = PORT_IN_USE.search(output)
    if port:
        return PlatformError(
            f"{shown} failed: port {port.group(1)} is already in use by another process",
            hint=f"find it with `ss -ltnp 'sport = :{port.group(1)}'` and stop it, or delete "
                 f"this cluster (`kfdeploy cluster delete`) and create it again")
    tail = "\n".join(output.strip().splitlines()[-15:])
    return PlatformError(
        f"{shown} failed:\n{tail}",
        hint=f"read a component's log with `kwokctl logs <component> --name {name}` "
             f"(components: {', '.join(COMPONENTS)})")


def workdir(env: Mapping[str, str] | None = None) -> Path:
    """kwokctl's state directory (KWOK_WORKDIR, default ~/.kwok)."""
    env = os.environ if env is None else env
    return Path(env.get("KWOK_WORKDIR") or Path.home() / ".kwok")


class Kwokctl:
    """Runs kwokctl with the built tools first on PATH (it runs kubectl from there)."""

    def __init__(self) -> None:
        self.binary = find_tool("kwokctl")
        self.env = tool_env()

    def run(self, *args: str, name: str, timeout: float = 300) -> str:
        """Run ``kwokctl <args> --name <name>``; the combined output, or a PlatformError."""
        command = [self.binary, *args, "--name", name]
        try:
            done = subprocess.run(command, env=self.env, capture_output=True, text=True,
                                  timeout=timeout, check=False)
        except subprocess.TimeoutExpired as e:
            raise PlatformError(
                f"kwokctl {' '.join(args)} --name {name} did not finish within {timeout:.0f}s",
                hint=f"read the logs: `kwokctl logs kube-apiserver --name {name}`") from e
        output = done.stdout + done.stderr
        if done.returncode != 0:
            raise explain_failure(["kwokctl", *args], name, output)
        return output

    def clusters(self) -> list[str]:
        done = subprocess.run([self.binary, "get", "clusters"], env=self.env,
                              capture_output=True, text=True, check=False)
        return done.stdout.split() if done.returncode == 0 else []

    def create(self, name: str, timeout: float) -> None:
        """Create the cluster; the config names every local binary."""
        binaries = {tool: find_tool(tool) for tool in BINARY_OPTIONS}
        config = kwokctl_config(binaries, tool_versions())
        with tempfile.NamedTemporaryFile("w", suffix=".yaml", prefix="kwokctl-") as f:
            yaml.safe_dump(config, f)
            f.flush()
            self.run("create", "cluster", "--config", f.name, "--kubeconfig", "",
                     "--timeout", f"{int(timeout)}s", "--wait", f"{int(timeout)}s",
                     name=name, timeout=timeout + 30)

    def start(self, name: str, timeout: float) -> None:
        self.run("start", "cluster", "--timeout", f"{int(timeout)}s", name=name,
                 timeout=timeout + 30)

    def delete(self, name: str) -> None:
        self.run("delete", "cluster", "--kubeconfig", "", name=name)

    @staticmethod
    def kubeconfig_path(name: str) -> Path:
        """The kubeconfig kwokctl writes for a cluster (client certificates by absolute path)."""
        return workdir() / "clusters" / name / "kubeconfig.yaml"
