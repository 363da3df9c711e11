"""kwokctl, driven as a subprocess with argument lists, and the meaning of its failures.

kwokctl's binary runtime runs etcd, kube-apiserver, kube-controller-manager, kube-scheduler and
kwok-controller as local processes. Every binary is passed explicitly so kwokctl never downloads
anything, and the controller-manager gets the hostPath provisioner so claims bind.
"""

from __future__ import annotations

import itertools
import os
import random
import re
import socket
import subprocess
import tempfile
from collections.abc import Callable, Mapping, Sequence
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
# Service ClusterIPs come from a loopback range: the API server dials a webhook's Service by its
# ClusterIP, and simulated pods serve nothing, so such calls must fail at once on this host
# (connection refused) instead of leaving the machine for a private-range address.
SERVICE_CIDR = "127.96.0.0/16"
# kwokctl hands out ports downwards from 32767, so two clusters created at the same moment get
# the same ones, and one cluster's kube-apiserver can end up on the other's etcd. kfdeploy
# picks them itself, from a random place in a range below kwokctl's.
PORT_OPTIONS = ("kubeApiserverPort", "etcdPort", "etcdPeerPort", "kubeControllerManagerPort",
                "kubeSchedulerPort", "kwokControllerPort")
PORT_RANGE = range(20000, 32000)
PORT_IN_USE = re.compile(r"(?:listen tcp|bind)[^\n]*?:(\d{2,5})[^\n]*address already in use")


def kwokctl_config(binaries: Mapping[str, str], versions: Mapping[str, str],
                   ports: Mapping[str, int] | None = None,
                   apiserver_args: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The KwokctlConfiguration for a local, download-free, fast-starting cluster.

    kube-apiserver runs without request limits unless ``apiserver_args`` (extra flags, name
    without ``--``: value, from ``spec.platform.kwok.apiServerArgs``) sets any: then kwokctl's
    limit-disabling flags are left out, so the server's defaults and those flags apply."""
    extra = dict(apiserver_args or {})
    options: dict[str, Any] = {
        "runtime": "binary",
        "bindAddress": "127.0.0.1",
        "disableQPSLimits": not extra,
        "kubeVersion": versions.get("KUBE_VERSION", ""),
        "etcdVersion": versions.get("ETCD_VERSION", "").lstrip("v"),
        "kwokVersion": versions.get("KWOK_VERSION", ""),
    }
    options.update({BINARY_OPTIONS[tool]: path for tool, path in sorted(binaries.items())})
    options.update(ports or {})
    return {
        "apiVersion": "config.kwok.x-k8s.io/v1alpha1",
        "kind": "KwokctlConfiguration",
        "options": {k: v for k, v in options.items() if v != ""},
        "componentsPatches": [{
            "name": "kube-controller-manager",
            "extraArgs": [{"key": "enable-hostpath-provisioner", "value": "true"},
                          {"key": "service-cluster-ip-range", "value": SERVICE_CIDR}],
        }, {
            "name": "kube-apiserver",
            "extraArgs": [{"key": "service-cluster-ip-range", "value": SERVICE_CIDR},
                          *({"key": k, "value": v} for k, v in sorted(extra.items()))],
        }],
    }


def explain_failure(command: Sequence[str], name: str, output: str) -> PlatformError:
    """A PlatformError that says what went wrong and what to do, from kwokctl's output."""
    shown = " ".join(command[:3]) + f" --name {name}"
    port = PORT_IN_USE.search(output)
    if port:
        return PlatformError(f"{shown} failed: port {port.group(1)} is already in use by "
                             "another process", hint=port_hint(port.group(1)))
    tail = "\n".join(output.strip().splitlines()[-15:])
    return PlatformError(
        f"{shown} failed:\n{tail}",
        hint=f"read a component's log with `kwokctl logs <component> --name {name}` "
             f"(components: {', '.join(COMPONENTS)})")


def port_in_use_error(name: str, port: str, component: str = "") -> PlatformError:
    """Another process holds a port the cluster's components are configured to listen on."""
    owner = f" ({component})" if component else ""
    return PlatformError(
        f"kwok cluster {name}: port {port}{owner} is already in use by another process",
        hint=port_hint(port))


def port_hint(port: str | int) -> str:
    return (f"find the process with `ss -ltnp 'sport = :{port}'` and stop it, or delete this "
            "cluster (`kfdeploy cluster delete`) and create it again on free ports")


def component_ports(config: Mapping[str, Any]) -> list[tuple[str, int]]:
    """(component, port) pairs from a cluster's saved kwok.yaml (a KwokctlConfiguration)."""
    return [(c.get("name", "?"), int(p["port"]))
            for c in config.get("components") or [] for p in c.get("ports") or []
            if p.get("port")]


def pick_ports(count: int, start: int, free: Callable[[int], bool]) -> list[int]:
    """``count`` free ports of PORT_RANGE, the first ones at or after ``start`` (wrapping)."""
    span = len(PORT_RANGE)
    offset = (start - PORT_RANGE.start) % span
    candidates = (PORT_RANGE.start + (offset + i) % span for i in range(span))
    ports = list(itertools.islice((p for p in candidates if free(p)), count))
    if len(ports) < count:
        raise PlatformError(f"no {count} free TCP ports in {PORT_RANGE.start}-"
                            f"{PORT_RANGE.stop - 1} on 127.0.0.1 for a kwok cluster",
                            hint="stop some local servers or delete unused kwok clusters")
    return ports


def port_free(port: int, host: str = "127.0.0.1") -> bool:
    """True when ``host:port`` can be bound now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def port_busy(port: int, host: str = "127.0.0.1") -> bool:
    """True when something already listens on host:port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


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

    def create(self, name: str, timeout: float, apiserver_args: Mapping[str, str] | None = None) -> None:
        """Create the cluster; the config names every local binary."""
        binaries = {tool: find_tool(tool) for tool in BINARY_OPTIONS}
        start = random.randrange(PORT_RANGE.start, PORT_RANGE.stop)
        ports = dict(zip(PORT_OPTIONS, pick_ports(len(PORT_OPTIONS), start, port_free), strict=True))
        config = kwokctl_config(binaries, tool_versions(), ports, apiserver_args)
        with tempfile.NamedTemporaryFile("w", suffix=".yaml", prefix="kwokctl-") as f:
            yaml.safe_dump(config, f)
            f.flush()
            self.run("create", "cluster", "--config", f.name, "--kubeconfig", "",
                     "--timeout", f"{int(timeout)}s",
                     name=name, timeout=timeout + 30)

    def start(self, name: str, timeout: float) -> None:
        clear_stale_pid_files(name)
        self.run("start", "cluster", "--timeout", f"{int(timeout / 2)}s", name=name,
                 timeout=timeout + 30)

    def delete(self, name: str) -> None:
        self.run("delete", "cluster", name=name)

    @staticmethod
    def kubeconfig_path(name: str) -> Path:
        """The kubeconfig kwokctl writes for a cluster (client certificates by absolute path)."""
        return workdir() / "clusters" / name / "kubeconfig.yaml"

    @staticmethod
    def busy_ports(name: str) -> list[tuple[str, int]]:
        """Ports of a stopped cluster that another process now listens on (kwokctl start would
        fail on them; e.g. another cluster was created on them after a restart)."""
        try:
            text = (workdir() / "clusters" / name / "kwok.yaml").read_text()
            docs = list(yaml.safe_load_all(text))
        except (OSError, yaml.YAMLError):
            return []
        config = next((d for d in docs if isinstance(d, dict)
                       and d.get("kind") == "KwokctlConfiguration"), {})
        pids = workdir() / "clusters" / name / "pids"
        return [(c, p) for c, p in component_ports(config)
                if not _pid_alive(pids / f"{c}.pid") and port_busy(p)]

    @staticmethod
    def dead_components(name: str) -> list[str]:
        """Components whose process is gone, e.g. etcd that lost a port race at start-up."""
        pids = workdir() / "clusters" / name / "pids"
        return [c for c in COMPONENTS if not _pid_alive(pids / f"{c}.pid")]

    @staticmethod
    def port_conflict_in_logs(name: str) -> str | None:
        """The port a component failed to bind, from the ends of the cluster's logs."""
        for log in sorted((workdir() / "clusters" / name / "logs").glob("*.log")):
            with log.open("rb") as f:
                f.seek(max(0, log.stat().st_size - 20000))
                found = PORT_IN_USE.search(f.read().decode(errors="replace"))
            if found:
                return found.group(1)
        return None


def _pid_alive(pid_file: Path) -> bool:
    """Whether the process recorded in a kwokctl pid file still runs that cluster's binary.

    kwokctl trusts a pid file whenever the pid exists, so after a reboot (pid reused) or a
    kill (zombie not yet reaped) it would skip starting the component.
    """
    try:
        pid = int(pid_file.read_text().strip())
        stat = Path(f"/proc/{pid}/stat").read_text()
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    except (OSError, ValueError):
        return False
    state = stat.rsplit(")", 1)[-1].split()[0]
    return state not in ("Z", "X") and f"{pid_file.parent.parent}/bin/" in cmdline


def clear_stale_pid_files(name: str) -> list[str]:
    """Remove pid files of components that no longer run; returns the components."""
    stale = [f for f in sorted((workdir() / "clusters" / name / "pids").glob("*.pid"))
             if not _pid_alive(f)]
    for f in stale:
        f.unlink(missing_ok=True)
    return [f.stem for f in stale]
