"""The minikube platform: a local cluster in a VM or container, one minikube profile per spec.

minikube is driven through its CLI with ``KUBECONFIG`` pointing at kfdeploy's own file, so
``minikube start`` writes the context there and the user's ``~/.kube/config`` stays untouched.
A running profile is reused; a stopped one is started again with its data; a changed
Kubernetes version is applied by minikube's in-place upgrade. CPUs and memory cannot change on
an existing profile, so a difference is reported, not acted on.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kfdeploy.errors import PlatformError
from kfdeploy.platforms import ClusterInfo, NoCloudChecks, Progress, no_progress
from kfdeploy.platforms.kubeconfigs import kubeconfig_file
from kfdeploy.platforms.localcli import (
    Failure,
    explain,
    find_cli,
    platform_defaults,
    run,
    run_streaming,
)
from kfdeploy.spec.platform import MinikubePlatform as MinikubeSettings

if TYPE_CHECKING:
    from kfdeploy.spec import KfDef

START_TIMEOUT = 1200.0
QUERY_TIMEOUT = 60.0
INSTALL_HINT = ("install minikube (https://minikube.sigs.k8s.io/docs/start/), or set "
                "KFDEPLOY_MINIKUBE_BINARY to its path")
MEMORY_UNITS = {"": 1, "b": 1 / 2**20, "k": 1 / 1024, "m": 1, "g": 1024, "t": 1024 * 1024}
VERSION_HINT = ("set spec.platform.minikube.kubernetesVersion to a version this minikube supports "
                "(`minikube config defaults kubernetes-version` lists them), or upgrade minikube")

FAILURES: tuple[Failure, ...] = (
    Failure(r"PROVIDER_DOCKER_NOT_RUNNING|PROVIDER_DOCKER_CANNOT_CONNECT|"
            r"Cannot connect to the Docker daemon|Is the docker daemon running",
            "Docker is not running (minikube's docker driver runs the cluster in a container)",
            "start Docker (`sudo systemctl start docker`, or open Docker Desktop), check that "
            "`docker info` works, then run `kfdeploy cluster create` again"),
    Failure(r"K8S_DOWNGRADE_UNSUPPORTED",
            "profile {profile} runs a newer Kubernetes than {version}; minikube cannot downgrade",
            "set spec.platform.minikube.kubernetesVersion back, or delete the cluster "
            "(`kfdeploy cluster delete`) and create it again with {version}"),
    Failure(r"K8S_OLD_UNSUPPORTED|K8S_NEW_UNSUPPORTED|MK_PATCH_NOT_FOUND|"
            r"newer than the newest supported|less than the oldest supported|"
            r"Unable to parse .*version",
            "Kubernetes {version} is not supported by this minikube", VERSION_HINT),
    Failure(r"RSRC_\w*MEM\w*|Requested memory allocation",
            "not enough memory for {memory} (spec.platform.minikube.memory)",
            "lower spec.platform.minikube.memory (the platform needs at least 8g) or give the host, "
            "Docker or the VM more memory (Docker Desktop: Settings > Resources)"),
    Failure(r"RSRC_\w*(CORES|CPU)\w*|Requested cpu count",
            "not enough CPUs for {cpus} (spec.platform.minikube.cpus)",
            "set spec.platform.minikube.cpus between 2 and the CPUs the host (or Docker Desktop) "
            "has, then run `kfdeploy cluster create` again"),
    Failure(r"could not select device driver|unknown or invalid runtime name: nvidia|"
            r"nvidia-container-cli|gpus flag|NVIDIA Container Toolkit",
            "GPUs were requested (spec.platform.minikube.gpus: {gpus}) but the NVIDIA container "
            "runtime is not usable",
            "use the docker driver with the NVIDIA container toolkit set up for Docker (`sudo "
            "nvidia-ctk runtime configure --runtime=docker`, restart Docker; "
            "https://minikube.sigs.k8s.io/docs/tutorials/nvidia/), or set gpus to 0"),
    Failure(r"Bind for [0-9.]*:(?P<port>\d+) failed: port is already allocated",
            "host port {port} is already in use",
            "find what holds it (`ss -ltnp 'sport = :{port}'`), stop it, then retry"),
    Failure(r"listen tcp [^\s]*:(?P<port>\d+): bind: address already in use",
            "host port {port} is already in use",
            "find what holds it (`ss -ltnp 'sport = :{port}'`), stop it, then retry"),
    Failure(r"GUEST_DRIVER_MISMATCH|MK_RESERVED_PROFILE|duplicated with machine name|"
            r"container name \S+ is already in use",
            "the name {profile} is already taken (another profile, machine or container)",
            "set spec.platform.minikube.profile to another name, or delete the other one "
            "(`minikube delete -p {profile}`)"),
)
FALLBACK_HINT = "read `minikube logs -p {profile}`, or run `minikube start -p {profile} --alsologtostderr`"


@dataclass(frozen=True)
class Profile:
    """What ``minikube profile list -o json`` says about one profile."""

    name: str
    status: str
    cpus: int | None
    memory_mb: int | None
    kubernetes_version: str | None
    nodes: int


@dataclass(frozen=True)
class Wanted:
    """The cluster the spec asks for, defaults filled in."""

    profile: str
    kubernetes_version: str
    cpus: int
    memory: str
    gpus: int


def settings_of(spec: KfDef) -> MinikubeSettings:
    """The minikube block (all defaults when it is left out)."""
    settings = spec.spec.platform.settings
    return settings if isinstance(settings, MinikubeSettings) else MinikubeSettings()


def profile_name(spec: KfDef) -> str:
    """``spec.platform.minikube.profile``, else ``metadata.name``."""
    return settings_of(spec).profile or spec.metadata.name


def normalize_version(version: str) -> str:
    """``1.33`` -> ``v1.33.0``: minikube wants a full version; ``stable``/``latest`` pass."""
    if version in ("stable", "latest"):
        return version
    parts = version.lstrip("v").split(".")
    return "v" + ".".join(parts + ["0"] * (3 - len(parts)))


def wanted(spec: KfDef, defaults: Mapping[str, Any]) -> Wanted:
    """The spec's settings over platforms/minikube.yaml (kubernetesVersion, defaults.cpus/memory)."""
    s, extra = settings_of(spec), defaults.get("defaults") or {}
    version = s.kubernetes_version or str(defaults.get("kubernetesVersion") or "stable")
    return Wanted(profile=profile_name(spec), kubernetes_version=normalize_version(version),
                  cpus=int(s.cpus or extra.get("cpus") or 4),
                  memory=str(s.memory or extra.get("memory") or "8g"), gpus=s.gpus)


def memory_mb(text: str) -> int:
    """minikube's memory syntax in MiB: ``16g`` -> 16384, ``16384mb`` -> 16384, ``8192`` -> 8192."""
    found = re.fullmatch(r"\s*(\d+)\s*([bkmgt]?)b?\s*", text.lower())
    if not found:
        raise ValueError(f"not a memory size: {text!r}")
    return int(int(found.group(1)) * MEMORY_UNITS[found.group(2)])


def start_args(w: Wanted) -> list[str]:
    """Arguments of ``minikube start`` for a new profile (after the binary)."""
    args = ["start", "-p", w.profile, "--kubernetes-version", w.kubernetes_version,
            "--cpus", str(w.cpus), "--memory", w.memory]
    if w.gpus > 0:
        args += ["--gpus", "all", "--driver", "docker"]
    return args


def restart_args(w: Wanted) -> list[str]:
    """``minikube start`` for an existing profile: its own settings, the spec's version."""
    return ["start", "-p", w.profile, "--kubernetes-version", w.kubernetes_version]


def parse_profiles(text: str) -> dict[str, Profile]:
    """Valid and invalid profiles of ``minikube profile list -o json`` by name."""
    try:
        data = json.loads(text or "{}")
    except json.JSONDecodeError as e:
        raise PlatformError(f"`minikube profile list -o json` printed no JSON: {text[:200]!r}",
                            hint="check that `minikube profile list` works") from e
    entries = [*(data.get("valid") or []), *(data.get("invalid") or [])]
    return {p["Name"]: _profile(p) for p in entries if isinstance(p, dict) and p.get("Name")}


def _profile(entry: Mapping[str, Any]) -> Profile:
    config = entry.get("Config") or {}
    version = (config.get("KubernetesConfig") or {}).get("KubernetesVersion")
    return Profile(name=entry["Name"], status=str(entry.get("Status") or "Unknown"),
                   cpus=config.get("CPUs"), memory_mb=config.get("Memory"),
                   kubernetes_version=version, nodes=len(config.get("Nodes") or []) or 1)


def is_running(status_json: str) -> bool:
    """Whether ``minikube status -o json`` reports host and API server Running."""
    try:
        data = json.loads(status_json)
    except json.JSONDecodeError:
        return False
    first = data[0] if isinstance(data, list) and data else data
    return isinstance(first, dict) and first.get("Host") == "Running" \
        and first.get("APIServer") == "Running"


def drift(profile: Profile, w: Wanted) -> list[str]:
    """Differences minikube cannot apply to an existing profile, as progress lines."""
    lines = []
    if profile.cpus is not None and profile.cpus != w.cpus:
        lines.append(f"profile {w.profile} has {profile.cpus} CPUs, the spec asks for {w.cpus}")
    if profile.memory_mb is not None and profile.memory_mb != memory_mb(w.memory):
        lines.append(f"profile {w.profile} has {profile.memory_mb}MB of memory, the spec asks "
                     f"for {w.memory} ({memory_mb(w.memory)}MB)")
    return [f"{line}; minikube cannot change this on an existing profile: delete the cluster "
            "(`kfdeploy cluster delete`) and create it again to apply it" for line in lines]


def progress_line(raw: str) -> str | None:
    """minikube's step (``* ...``) and warning (``! ...``) lines, or emoji-led ones when its
    styled output is on; None for sub-steps, blank lines and the final error."""
    if raw.startswith("* "):
        return "minikube: " + raw[2:].strip()
    if raw.startswith("! "):
        return "minikube: warning: " + raw[2:].strip()
    if raw[:1] and not raw[:1].isascii() and not raw.startswith(("❌", "⛔")):
        return "minikube: " + re.sub(r"^[^\x00-\x7f]+\s*", "", raw).strip()
    return None


class MinikubePlatform(NoCloudChecks):
    """``Platform`` for ``spec.platform.kind: minikube``."""

    def __init__(self, timeout: float = START_TIMEOUT) -> None:
        self.timeout = timeout

    def kubeconfig(self, spec: KfDef) -> Path:
        """kfdeploy's kubeconfig of the profile, refreshed by ``minikube update-context``."""
        profile = profile_name(spec)
        path = kubeconfig_file(profile)
        if profile in self._profiles():
            self._minikube(["update-context", "-p", profile], spec)
        return path

    def context(self, spec: KfDef) -> str:
        return profile_name(spec)

    def ensure_cluster(self, spec: KfDef, progress: Progress) -> ClusterInfo:
        w = wanted(spec, platform_defaults("minikube"))
        existing = self._profiles().get(w.profile)
        if existing is None:
            progress(f"creating minikube profile {w.profile} (Kubernetes {w.kubernetes_version}, "
                     f"{w.cpus} CPUs, {w.memory} memory{', GPUs: all' if w.gpus else ''}) ...")
            self._start(start_args(w), spec, progress)
        else:
            self._reuse(existing, w, spec, progress)
        profile = self._profiles().get(w.profile)
        return ClusterInfo(name=w.profile, kubeconfig=kubeconfig_file(w.profile),
                           context=self.context(spec), created=existing is None,
                           nodes=profile.nodes if profile else 1)

    def delete_cluster(self, spec: KfDef, progress: Progress = no_progress) -> None:
        profile = profile_name(spec)
        if profile in self._profiles():
            self._minikube(["delete", "-p", profile], spec, timeout=QUERY_TIMEOUT * 5)
        kubeconfig_file(profile).unlink(missing_ok=True)

    def describe(self, spec: KfDef) -> dict[str, Any]:
        profile = self._profiles().get(profile_name(spec))
        w = wanted(spec, platform_defaults("minikube"))
        return {"platform": "minikube", "name": w.profile, "exists": profile is not None,
                "status": profile.status if profile else None,
                "kubernetesVersion": profile.kubernetes_version if profile else w.kubernetes_version,
                "nodes": profile.nodes if profile else 0,
                "kubeconfig": str(kubeconfig_file(w.profile)), "context": self.context(spec)}

    def _reuse(self, existing: Profile, w: Wanted, spec: KfDef, progress: Progress) -> None:
        """Start a stopped profile, upgrade a changed version, else refresh the kubeconfig."""
        for line in drift(existing, w):
            progress(line)
        status = self._minikube(["status", "-p", w.profile, "-o", "json"], spec, check=False)
        running = is_running(status)
        version_changed = w.kubernetes_version not in ("stable", "latest") and \
            existing.kubernetes_version not in (None, w.kubernetes_version)
        if running and not version_changed:
            progress(f"reusing running minikube profile {w.profile}")
            self._minikube(["update-context", "-p", w.profile], spec)
            return
        why = (f"changing Kubernetes {existing.kubernetes_version} to {w.kubernetes_version}"
               if version_changed else f"it is {existing.status}; starting it")
        progress(f"reusing minikube profile {w.profile}: {why} ...")
        self._start(restart_args(w), spec, progress)

    def _start(self, args: list[str], spec: KfDef, progress: Progress) -> None:
        result = run_streaming([self._binary(), *args], self._env(spec), self.timeout, progress,
                               progress_line, what=f"minikube start -p {profile_name(spec)}")
        if not result.ok:
            raise explain(FAILURES, result, self._facts(spec), FALLBACK_HINT)

    def _profiles(self) -> dict[str, Profile]:
        result = run([self._binary(), "profile", "list", "-o", "json"], os.environ, QUERY_TIMEOUT)
        if not result.ok and not result.stdout.strip().startswith("{"):
            raise explain(FAILURES, result, {"profile": "", "version": "", "memory": "",
                                             "cpus": "", "gpus": 0},
                          "check that `minikube profile list` works")
        return parse_profiles(result.stdout)

    def _minikube(self, args: list[str], spec: KfDef, timeout: float = QUERY_TIMEOUT,
                  check: bool = True) -> str:
        """Run a short minikube command against our kubeconfig; its stdout."""
        result = run([self._binary(), *args], self._env(spec), timeout)
        if check and not result.ok:
            raise explain(FAILURES, result, self._facts(spec), FALLBACK_HINT)
        return result.stdout

    def _env(self, spec: KfDef) -> dict[str, str]:
        """The environment for minikube: our kubeconfig, plain (emoji-free) output."""
        path = kubeconfig_file(profile_name(spec))
        path.parent.mkdir(parents=True, exist_ok=True)
        return {**os.environ, "KUBECONFIG": str(path), "MINIKUBE_IN_STYLE": "false"}

    def _facts(self, spec: KfDef) -> dict[str, Any]:
        w = wanted(spec, platform_defaults("minikube"))
        return {"profile": w.profile, "version": w.kubernetes_version, "memory": w.memory,
                "cpus": w.cpus, "gpus": w.gpus}

    @staticmethod
    def _binary() -> str:
        return find_cli("minikube", INSTALL_HINT)
