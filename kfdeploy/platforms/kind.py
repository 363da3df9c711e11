"""The kind platform: a local Kubernetes cluster whose node is a Docker container.

kind is driven through its CLI. An existing cluster of the same name is reused (kind cannot
change a cluster after creation, so nothing is recreated behind the user's back). For GPUs,
the node gets the mount the NVIDIA container toolkit reads to pass the host's GPUs into a
container, plus a node label, which is how kind clusters run GPU workloads. The kubeconfig
goes to a file of its own, never into the user's ``~/.kube/config``.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from kfdeploy.errors import PlatformError
from kfdeploy.platforms import ClusterInfo, NoCloudChecks, Progress, no_progress
from kfdeploy.platforms.kubeconfigs import kubeconfig_file, write_private
from kfdeploy.platforms.localcli import (
    Failure,
    explain,
    find_cli,
    platform_defaults,
    run,
    run_streaming,
)
from kfdeploy.spec.platform import KindPlatform as KindSettings

if TYPE_CHECKING:
    from kfdeploy.spec import KfDef

CREATE_TIMEOUT = 900.0
QUERY_TIMEOUT = 60.0
WAIT = "300s"
INSTALL_HINT = ("install kind (https://kind.sigs.k8s.io/docs/user/quick-start/#installation, e.g. "
                "`go install sigs.k8s.io/kind@latest` or `brew install kind`), or set "
                "KFDEPLOY_KIND_BINARY to its path")
DOCKER_HINT = "install Docker (https://docs.docker.com/engine/install/), or set KFDEPLOY_DOCKER_BINARY"
GPU_DEVICES_MOUNT = {"hostPath": "/dev/null", "containerPath": "/var/run/nvidia-container-devices/all"}
GPU_LABEL = {"nvidia.com/gpu.present": "true"}
NVIDIA_SETUP = ("install the NVIDIA container toolkit, then `sudo nvidia-ctk runtime configure "
                "--runtime=docker --set-as-default`, `sudo nvidia-ctk config --set "
                "accept-nvidia-visible-devices-as-volume-mounts=true --in-place` and restart Docker; "
                "or set spec.platform.kindCluster.gpus to 0")

FAILURES: tuple[Failure, ...] = (
    Failure(r"permission denied while trying to connect to the Docker daemon",
            "this user may not use Docker (kind runs the node as a Docker container)",
            "add yourself to the docker group (`sudo usermod -aG docker $USER`, then log in again)"),
    Failure(r"Cannot connect to the Docker daemon|Is the docker daemon running",
            "Docker is not running (kind runs the node as a Docker container)",
            "start Docker (`sudo systemctl start docker`, or open Docker Desktop), check that "
            "`docker info` works, then run `kfdeploy cluster create` again"),
    Failure(r"container \S+ is not running",
            "the node container of kind cluster {name} is not running (Docker restarted or the "
            "machine rebooted without restarting it)",
            "start it with `docker start {name}-control-plane`, or delete the cluster "
            "(`kfdeploy cluster delete`) and create it again"),
    Failure(r"node\(s\) already exist for a cluster with the name|container name \S+ is already in use",
            "a kind cluster or container named {name} already exists",
            "delete it with `kind delete cluster --name {name}`, or set "
            "spec.platform.kindCluster.name to another name"),
    Failure(r"Bind for [0-9.]*:(?P<port>\d+) failed: port is already allocated",
            "host port {port} is already in use",
            "find what holds it (`ss -ltnp 'sport = :{port}'`, or another kind cluster: "
            "`kind get clusters`), stop it, then run `kfdeploy cluster create` again"),
    Failure(r"listen tcp [^\s]*:(?P<port>\d+): bind: address already in use",
            "host port {port} is already in use",
            "find what holds it (`ss -ltnp 'sport = :{port}'`), stop it, then retry"),
    Failure(r"could not select device driver|unknown or invalid runtime name: nvidia|nvidia-container-cli",
            "the NVIDIA container runtime is not set up for Docker ({gpus} GPU(s) requested)",
            NVIDIA_SETUP),
    Failure(r"failed to pull image|manifest unknown|pull access denied|not found: manifest",
            "node image {image} could not be pulled (unknown image or Kubernetes version tag)",
            "set spec.platform.kindCluster.image to a kindest/node tag listed in the release notes "
            "of your kind version (`kind version`), e.g. kindest/node:v1.33.1, or leave it unset "
            "for the default of platforms/kind.yaml"),
    Failure(r"no space left on device",
            "the disk Docker uses is full",
            "free space (`docker system prune`), then run `kfdeploy cluster create` again"),
    Failure(r"failed to init node with kubeadm|kubelet is not healthy",
            "kubeadm could not start the control plane inside the node; most often Docker has too "
            "little memory or CPU, or the host's inotify limits are too low",
            "give Docker at least 4 CPUs and 8 GB of memory, raise fs.inotify.max_user_watches "
            "and fs.inotify.max_user_instances (https://kind.sigs.k8s.io/docs/user/known-issues/), "
            "then run `kfdeploy cluster create` again"),
)
STEP_MARKERS = ("•", "✓", "✗")
FALLBACK_HINT = ("run `kind create cluster --name {name} --retain -v 3` by hand to see more, then "
                 "`kind export logs --name {name}`")


def cluster_name(spec: KfDef) -> str:
    """``spec.platform.kindCluster.name``, else ``metadata.name``."""
    return settings_of(spec).name or spec.metadata.name


def settings_of(spec: KfDef) -> KindSettings:
    """The kindCluster block (all defaults when it is left out)."""
    settings = spec.spec.platform.settings
    return settings if isinstance(settings, KindSettings) else KindSettings()


def node_image(settings: KindSettings, defaults: Mapping[str, Any]) -> str | None:
    """The spec's image, else ``defaults.nodeImage`` of platforms/kind.yaml (pins the Kubernetes
    version), else None: kind's own default for its release."""
    if settings.image:
        return settings.image
    image = (defaults.get("defaults") or {}).get("nodeImage")
    return str(image) if image else None


def image_version(image: str | None) -> str | None:
    """``kindest/node:v1.33.1@sha256:...`` -> ``v1.33.1`` (None when the tag is not a version)."""
    found = re.search(r":(v\d+\.\d+(?:\.\d+)?)(?:@|$)", image or "")
    return found.group(1) if found else None


def kind_config(gpus: int) -> dict[str, Any]:
    """The kind Cluster config: one control-plane node, with the GPU mount and label if asked."""
    node: dict[str, Any] = {"role": "control-plane"}
    if gpus > 0:
        node["labels"] = dict(GPU_LABEL)
        node["extraMounts"] = [dict(GPU_DEVICES_MOUNT)]
    return {"kind": "Cluster", "apiVersion": "kind.x-k8s.io/v1alpha4", "nodes": [node]}


def create_args(name: str, image: str | None, config: Path, kubeconfig: Path) -> list[str]:
    """Arguments of ``kind create cluster`` (after the binary)."""
    args = ["create", "cluster", "--name", name]
    if image:
        args += ["--image", image]
    return [*args, "--config", str(config), "--wait", WAIT, "--kubeconfig", str(kubeconfig)]


def progress_line(raw: str) -> str | None:
    """kind's step lines (``Creating cluster``, ``• step ...``, ``✓ step``, ``✗ step``) without
    their decorative emoji; None for every other line."""
    line = raw.strip()
    step = line[:1] in STEP_MARKERS and len(line) > 1
    if not step and not line.startswith(("Creating cluster", "Deleting cluster")):
        return None
    marker, rest = (line[0] + " ", line[1:]) if step else ("", line)
    text = re.sub(r"[^\x00-\u024f]", "", rest)
    return "kind: " + marker + " ".join(text.split())


class KindPlatform(NoCloudChecks):
    """``Platform`` for ``spec.platform.kind: kind`` (block ``kindCluster``)."""

    def __init__(self, timeout: float = CREATE_TIMEOUT) -> None:
        self.timeout = timeout

    def kubeconfig(self, spec: KfDef) -> Path:
        """The cluster's kubeconfig file, rewritten from ``kind get kubeconfig`` when it exists."""
        path = kubeconfig_file(cluster_name(spec))
        if cluster_name(spec) in self._clusters():
            self._write_kubeconfig(cluster_name(spec), path)
        return path

    def context(self, spec: KfDef) -> str:
        return f"kind-{cluster_name(spec)}"

    def ensure_cluster(self, spec: KfDef, progress: Progress) -> ClusterInfo:
        name, settings = cluster_name(spec), settings_of(spec)
        path = kubeconfig_file(name)
        created = name not in self._clusters()
        if created:
            self._create(name, settings, path, progress)
        else:
            progress(f"reusing kind cluster {name} (kind cannot change an existing cluster; "
                     "delete it to apply changed image or gpus)")
        self._write_kubeconfig(name, path)
        return ClusterInfo(name=name, kubeconfig=path, context=self.context(spec), created=created,
                           nodes=len(self._nodes(name)))

    def delete_cluster(self, spec: KfDef, progress: Progress = no_progress) -> None:
        name = cluster_name(spec)
        if name not in self._clusters():
            return
        path = kubeconfig_file(name)
        result = run([self._kind(), "delete", "cluster", "--name", name, "--kubeconfig", str(path)],
                     os.environ, QUERY_TIMEOUT * 5)
        if not result.ok:
            raise explain(FAILURES, result, self._facts(spec), FALLBACK_HINT)
        path.unlink(missing_ok=True)

    def describe(self, spec: KfDef) -> dict[str, Any]:
        name = cluster_name(spec)
        exists = name in self._clusters()
        image = node_image(settings_of(spec), platform_defaults("kind"))
        return {"platform": "kind", "name": name, "exists": exists,
                "nodes": self._nodes(name) if exists else [], "image": image,
                "kubernetesVersion": image_version(image), "gpus": settings_of(spec).gpus,
                "kubeconfig": str(kubeconfig_file(name)), "context": self.context(spec)}

    def _create(self, name: str, settings: KindSettings, path: Path, progress: Progress) -> None:
        image = node_image(settings, platform_defaults("kind"))
        facts = {"name": name, "image": image or "(kind's default)", "gpus": settings.gpus}
        if settings.gpus > 0:
            self._check_nvidia_runtime(settings.gpus)
        path.parent.mkdir(parents=True, exist_ok=True)
        progress(f"creating kind cluster {name} (image {facts['image']}"
                 f"{f', {settings.gpus} GPU(s)' if settings.gpus else ''}) ...")
        with tempfile.NamedTemporaryFile("w", suffix=".yaml", prefix="kind-config-") as f:
            yaml.safe_dump(kind_config(settings.gpus), f, sort_keys=False)
            f.flush()
            result = run_streaming([self._kind(), *create_args(name, image, Path(f.name), path)],
                                   os.environ, self.timeout, progress, progress_line,
                                   what=f"creating kind cluster {name}")
        if not result.ok:
            raise explain(FAILURES, result, facts, FALLBACK_HINT)

    def _check_nvidia_runtime(self, gpus: int) -> None:
        """kind passes GPUs only when Docker's default runtime is nvidia; without it the cluster
        would come up without GPUs and GPU pods would stay Pending, so fail before creating."""
        docker = find_cli("docker", DOCKER_HINT)
        result = run([docker, "info", "--format", "{{.DefaultRuntime}}"], os.environ, QUERY_TIMEOUT)
        if not result.ok:
            raise explain(FAILURES, result, {"name": "", "image": "", "gpus": gpus},
                          "check that `docker info` works")
        runtime = result.stdout.strip()
        if runtime != "nvidia":
            raise PlatformError(
                f"spec.platform.kindCluster.gpus is {gpus}, but Docker's default runtime is "
                f"{runtime or 'unknown'}, not nvidia, so the kind node would see no GPU",
                hint=NVIDIA_SETUP)

    def _write_kubeconfig(self, name: str, path: Path) -> None:
        result = run([self._kind(), "get", "kubeconfig", "--name", name], os.environ, QUERY_TIMEOUT)
        if not result.ok or "apiVersion" not in result.stdout:
            raise explain(FAILURES, result, {"name": name, "image": "", "gpus": 0},
                          "check the cluster with `kind get clusters` and `docker ps`")
        write_private(path, result.stdout)

    def _clusters(self) -> list[str]:
        result = run([self._kind(), "get", "clusters"], os.environ, QUERY_TIMEOUT)
        if not result.ok:
            raise explain(FAILURES, result, {"name": "", "image": "", "gpus": 0},
                          "check that `kind get clusters` works")
        return result.stdout.split()

    def _nodes(self, name: str) -> list[str]:
        result = run([self._kind(), "get", "nodes", "--name", name], os.environ, QUERY_TIMEOUT)
        return result.stdout.split() if result.ok else []

    def _facts(self, spec: KfDef) -> dict[str, Any]:
        return {"name": cluster_name(spec), "image": settings_of(spec).image or "",
                "gpus": settings_of(spec).gpus}

    @staticmethod
    def _kind() -> str:
        return find_cli("kind", INSTALL_HINT)
