"""Pure translation between ``spec.platform.gke`` and the GKE API (container v1).

Everything here is data in, data out: which node pools the spec wants, the API messages that
create them, how an existing cluster differs from the spec, and the kubeconfig that reaches it.
``kfdeploy.platforms.gke`` does the calls; keeping the decisions here lets them be tested as
plain functions.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from google.cloud import container_v1 as gke

from kfdeploy.errors import PlatformError
from kfdeploy.spec.platform import GkeNodePool

if TYPE_CHECKING:
    from kfdeploy.spec import KfDef
    from kfdeploy.spec.platform import GkePlatform as GkeSettings

FIELD = "spec.platform.gke"
CLOUD_PLATFORM_SCOPE = "https://www.googleapis.com/auth/cloud-platform"
TAINT_EFFECTS: Mapping[str, int] = {
    "NoSchedule": gke.NodeTaint.Effect.NO_SCHEDULE,
    "PreferNoSchedule": gke.NodeTaint.Effect.PREFER_NO_SCHEDULE,
    "NoExecute": gke.NodeTaint.Effect.NO_EXECUTE,
}
DRIVER_VERSIONS: Mapping[str, int] = {
    "default": gke.GPUDriverInstallationConfig.GPUDriverVersion.DEFAULT,
    "latest": gke.GPUDriverInstallationConfig.GPUDriverVersion.LATEST,
    "disabled": gke.GPUDriverInstallationConfig.GPUDriverVersion.INSTALLATION_DISABLED,
}
AUTH_PLUGIN = "gke-gcloud-auth-plugin"
ADC_FLAG = "--use_application_default_credentials"
AUTH_PLUGIN_HINT = (
    "Install gke-gcloud-auth-plugin for use with kubectl and kfdeploy: "
    "`gcloud components install gke-gcloud-auth-plugin` (or the google-cloud-cli-gke-gcloud-auth-plugin "
    "package), see https://cloud.google.com/kubernetes-engine/docs/how-to/cluster-access-for-kubectl")


@dataclass(frozen=True)
class Target:
    """Where the cluster lives; every API resource name is derived from it."""

    project: str
    location: str
    name: str

    @classmethod
    def of(cls, spec: KfDef) -> Target:
        settings = gke_settings(spec)
        return cls(settings.project, settings.location, spec.metadata.name)

    @property
    def parent(self) -> str:
        return f"projects/{self.project}/locations/{self.location}"

    @property
    def cluster_path(self) -> str:
        return f"{self.parent}/clusters/{self.name}"

    def pool_path(self, pool: str) -> str:
        return f"{self.cluster_path}/nodePools/{pool}"

    def operation_path(self, operation: str) -> str:
        return f"{self.parent}/operations/{operation}"

    @property
    def context(self) -> str:
        """The context name gcloud would write, so both tools agree."""
        return f"gke_{self.project}_{self.location}_{self.name}"

    @property
    def region(self) -> str:
        """The region of a zone (us-central1-a -> us-central1); a region is itself."""
        head, _, tail = self.location.rpartition("-")
        return head if len(tail) == 1 and head.count("-") >= 1 else self.location


def gke_settings(spec: KfDef) -> GkeSettings:
    """The ``spec.platform.gke`` block (the spec model guarantees it for kind gke)."""
    settings = spec.spec.platform.gke
    if settings is None:
        raise PlatformError(f"spec.platform.kind is {spec.spec.platform.kind!r}, not gke",
                            hint="set spec.platform.kind: gke and a gke block")
    return settings


def platform_defaults(path: Path) -> tuple[str, list[GkeNodePool]]:
    """The default version and node pools of platforms/gke.yaml."""
    try:
        raw = yaml.safe_load(path.read_text()) or {}
        pools = (raw.get("defaults") or {}).get("nodePools") or []
        return str(raw.get("kubernetesVersion") or ""), [GkeNodePool.model_validate(p) for p in pools]
    except (OSError, yaml.YAMLError, ValueError, AttributeError) as e:
        raise PlatformError(f"cannot read the GKE platform defaults {path}: {e}",
                            hint="restore platforms/gke.yaml, or list node pools in "
                                 f"{FIELD}.cluster.nodePools") from e


def wanted_pools(settings: GkeSettings, defaults: Sequence[GkeNodePool]) -> list[GkeNodePool]:
    """The spec's node pools, or the platform defaults when it lists none; checked first."""
    pools = list(settings.cluster.node_pools) or list(defaults)
    problems = [f"{FIELD}.cluster.nodePools[{i}].autoscaling.max is 0; GKE needs at least 1 "
                f"(node pool {p.name})" for i, p in enumerate(pools) if p.autoscaling.max < 1]
    if not pools:
        problems.append(f"{FIELD}.cluster.nodePools is empty and platforms/gke.yaml has no defaults")
    if problems:
        raise PlatformError("; ".join(problems), hint="fix the node pools in the spec")
    return pools


def initial_counts(pools: Sequence[GkeNodePool]) -> list[int]:
    """Nodes each pool starts with: its minimum, but the cluster needs one node somewhere for
    its system pods, so the first pool starts with one when every minimum is zero."""
    counts = [p.autoscaling.min for p in pools]
    if counts and sum(counts) == 0:
        counts[0] = 1
    return counts


def node_pool(pool: GkeNodePool, initial: int) -> gke.NodePool:
    """The API message creating ``pool``; autoscaling on, auto-repair and auto-upgrade on."""
    config = gke.NodeConfig(
        machine_type=pool.machine_type, disk_size_gb=pool.disk_size_gb, spot=pool.spot,
        labels=dict(pool.labels), oauth_scopes=[CLOUD_PLATFORM_SCOPE],
        accelerators=[gke.AcceleratorConfig(
            accelerator_type=a.type, accelerator_count=a.count,
            gpu_driver_installation_config=gke.GPUDriverInstallationConfig(
                gpu_driver_version=DRIVER_VERSIONS[a.driver_version]))
            for a in pool.accelerators],
        taints=[gke.NodeTaint(key=t.key, value=t.value, effect=TAINT_EFFECTS[t.effect])
                for t in pool.taints])
    return gke.NodePool(name=pool.name, config=config, initial_node_count=initial,
                        autoscaling=autoscaling(pool),
                        management=gke.NodeManagement(auto_repair=True, auto_upgrade=True))


def autoscaling(pool: GkeNodePool) -> gke.NodePoolAutoscaling:
    return gke.NodePoolAutoscaling(enabled=True, min_node_count=pool.autoscaling.min,
                                   max_node_count=pool.autoscaling.max)


def cluster_message(target: Target, version: str, pools: Sequence[GkeNodePool]) -> gke.Cluster:
    """The Cluster to create: the spec's version and pools, labelled as kfdeploy's."""
    return gke.Cluster(
        name=target.name, initial_cluster_version=version,
        node_pools=[node_pool(p, n) for p, n in zip(pools, initial_counts(pools), strict=True)],
        resource_labels={"managed-by": "kfdeploy"})


@dataclass(frozen=True)
class PoolPlan:
    """How an existing cluster's pools differ from the spec, and what kfdeploy will do."""

    create: tuple[GkeNodePool, ...] = ()
    autoscale: tuple[GkeNodePool, ...] = ()
    drift: tuple[str, ...] = ()
    extra: tuple[str, ...] = ()


def plan_pools(wanted: Sequence[GkeNodePool], existing: Sequence[gke.NodePool]) -> PoolPlan:
    """Missing pools are created and autoscaling bounds updated; what GKE cannot change in
    place is reported (drift), and pools only in the cluster are reported, never deleted."""
    have = {p.name: p for p in existing}
    names = {p.name for p in wanted}
    return PoolPlan(
        create=tuple(p for p in wanted if p.name not in have),
        autoscale=tuple(p for p in wanted if p.name in have and _bounds_differ(p, have[p.name])),
        drift=tuple(d for p in wanted if p.name in have for d in pool_drift(p, have[p.name])),
        extra=tuple(p.name for p in existing if p.name not in names))


def _bounds_differ(pool: GkeNodePool, live: gke.NodePool) -> bool:
    auto = live.autoscaling
    return (not auto.enabled or auto.min_node_count != pool.autoscaling.min
            or auto.max_node_count != pool.autoscaling.max)


def pool_drift(pool: GkeNodePool, live: gke.NodePool) -> list[str]:
    """Settings GKE fixes at pool creation that differ from the spec, one line each."""
    config = live.config
    pairs: list[tuple[str, Any, Any]] = [
        ("machineType", pool.machine_type, config.machine_type),
        ("diskSizeGb", pool.disk_size_gb, config.disk_size_gb),
        ("spot", pool.spot, config.spot),
        ("accelerators", _accel_text([(a.type, a.count) for a in pool.accelerators]),
         _accel_text([(a.accelerator_type, a.accelerator_count) for a in config.accelerators])),
    ]
    return [f"node pool {pool.name}: {name} is {live_value} in the cluster but {wanted} in the spec"
            for name, wanted, live_value in pairs if wanted != live_value]


def _accel_text(accels: Sequence[tuple[str, int]]) -> str:
    return ", ".join(f"{count}x {kind}" for kind, count in accels) or "none"


def kubeconfig_dict(target: Target, endpoint: str, ca_data: str) -> dict[str, Any]:
    """A kubeconfig reaching the cluster; credentials come from gke-gcloud-auth-plugin, so
    nothing secret is written and tokens are refreshed by the plugin. The plugin is told to use
    Application Default Credentials (``--use_application_default_credentials``): the very
    credentials kfdeploy created the cluster with. Without the flag it asks gcloud for its
    active account, which a CI job authenticated by GOOGLE_APPLICATION_CREDENTIALS (or a
    workload identity) does not have."""
    name = target.context
    return {
        "apiVersion": "v1", "kind": "Config", "preferences": {}, "current-context": name,
        "clusters": [{"name": name, "cluster": {
            "server": f"https://{endpoint}", "certificate-authority-data": ca_data}}],
        "contexts": [{"name": name, "context": {"cluster": name, "user": name}}],
        "users": [{"name": name, "user": {"exec": {
            "apiVersion": "client.authentication.k8s.io/v1beta1", "command": AUTH_PLUGIN,
            "args": [ADC_FLAG], "installHint": AUTH_PLUGIN_HINT, "provideClusterInfo": True,
            "interactiveMode": "IfAvailable"}}}],
    }
