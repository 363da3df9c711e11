"""The kwok platform: a real control plane with simulated nodes, on one machine, no Docker.

etcd, kube-apiserver, kube-controller-manager and kube-scheduler are the real, locally built
binaries; kwok-controller plays the kubelets (Pods become Running and Ready, Job Pods Succeed).
The nodes mirror ``spec.platform.kwok.nodePools``, so GPU requests and taints schedule as they
would on the cloud. ``ensure_cluster`` is idempotent and survives a machine restart.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from kfdeploy.errors import PlatformError
from kfdeploy.kube.client import Cluster
from kfdeploy.platforms import ClusterInfo, NoCloudChecks, Progress, no_progress
from kfdeploy.platforms import _kube as kube
from kfdeploy.platforms.kwok_objects import PoolLike, node_manifests, stale_nodes, storage_class
from kfdeploy.platforms.kwokctl import COMPONENTS, Kwokctl, port_in_use_error
from kfdeploy.poll import Poller

if TYPE_CHECKING:
    from kfdeploy.spec import KfDef

CREATE_TIMEOUT = 120.0
READY_TIMEOUT = 120.0
RESTART_TIMEOUT = 60.0
NODES_TIMEOUT = 60.0


def node_pools(spec: KfDef) -> Sequence[PoolLike]:
    """``spec.platform.kwok.nodePools`` (empty when the block is absent: platform defaults)."""
    settings = spec.spec.platform.settings
    return list(getattr(settings, "node_pools", None) or [])


class KwokPlatform(NoCloudChecks):
    """``Platform`` for ``spec.platform.kind: kwok``; ``poller`` paces its waits (tests pass one
    on a fake clock)."""

    def __init__(self, poller: Poller | None = None) -> None:
        self.poller = poller or Poller.real(0.5)

    def kubeconfig(self, spec: KfDef) -> Path:
        return Kwokctl.kubeconfig_path(spec.metadata.name)

    def context(self, spec: KfDef) -> str:
        return f"kwok-{spec.metadata.name}"

    def ensure_cluster(self, spec: KfDef, progress: Progress) -> ClusterInfo:
        name = spec.metadata.name
        created = self._ensure_running(Kwokctl(), spec, progress)
        api = self._api(spec)
        try:
            progress("waiting for kube-apiserver /readyz and the default ServiceAccount ...")
            if not kube.wait_until(lambda: kube.is_ready(api), READY_TIMEOUT, self.poller):
                raise not_ready(name, READY_TIMEOUT)
            count = self._reconcile(api, spec, progress)
        finally:
            api.close()
        return ClusterInfo(name=name, kubeconfig=self.kubeconfig(spec),
                           context=self.context(spec), created=created, nodes=count)

    def delete_cluster(self, spec: KfDef, progress: Progress = no_progress) -> None:
        kwokctl = Kwokctl()
        if spec.metadata.name in kwokctl.clusters():
            kwokctl.delete(spec.metadata.name)

    def describe(self, spec: KfDef) -> dict[str, Any]:
        exists = spec.metadata.name in Kwokctl().clusters()
        return {"platform": "kwok", "name": spec.metadata.name, "exists": exists,
                "running": exists and self._answers(spec),
                "kubeconfig": str(self.kubeconfig(spec)), "context": self.context(spec)}

    def _ensure_running(self, kwokctl: Kwokctl, spec: KfDef, progress: Progress) -> bool:
        """Create, reuse, restart, or as a last resort recreate the cluster; True if created."""
        name = spec.metadata.name
        if name not in kwokctl.clusters():
            progress(f"creating kwok cluster {name} (etcd, kube-apiserver, "
                     "kube-controller-manager, kube-scheduler, kwok-controller) ...")
            self._create(kwokctl, spec)
            return True
        if self._answers(spec):
            progress(f"reusing running kwok cluster {name}")
            return False
        progress(f"kwok cluster {name} exists but is not running; starting it ...")
        reason = self._restart(kwokctl, spec)
        if reason is None:
            return False
        progress(f"could not start kwok cluster {name} ({reason}); deleting and recreating it "
                 "on free ports (objects stored in it are lost) ...")
        kwokctl.delete(name)
        self._create(kwokctl, spec)
        return True

    def _restart(self, kwokctl: Kwokctl, spec: KfDef) -> str | None:
        """Start a stopped cluster (e.g. after a reboot); None once it answers, else why not."""
        name = spec.metadata.name
        busy = Kwokctl.busy_ports(name)
        if busy:
            component, port = busy[0]
            return (f"port {port} of its {component} is now used by another process, see "
                    f"`ss -ltnp 'sport = :{port}'`")
        try:
            kwokctl.start(name, RESTART_TIMEOUT)
        except PlatformError as e:
            return e.message.splitlines()[0]
        if self._wait_answers(spec, RESTART_TIMEOUT):
            return None
        taken = Kwokctl.port_conflict_in_logs(name)
        if taken:
            return f"port {taken} is in use by another process"
        return f"its kube-apiserver did not answer within {RESTART_TIMEOUT:.0f}s"

    def _create(self, kwokctl: Kwokctl, spec: KfDef) -> None:
        """Create the cluster and wait until its apiserver answers; a port grabbed by another
        process meanwhile (kwokctl picks free ports, concurrent creates can race) is named."""
        name = spec.metadata.name
        try:
            kwokctl.create(name, CREATE_TIMEOUT, getattr(spec.spec.platform.settings, "api_server_args", None))
        except PlatformError as e:
            port = Kwokctl.port_conflict_in_logs(name)
            if port:
                raise port_in_use_error(name, port) from e
            raise
        answers = self._wait_answers(spec, READY_TIMEOUT)
        dead = Kwokctl.dead_components(name)
        if answers and not dead:
            return
        port = Kwokctl.port_conflict_in_logs(name)
        if port:
            raise port_in_use_error(name, port)
        if dead:
            raise PlatformError(f"kwok cluster {name}: {', '.join(dead)} exited after start",
                                hint=f"read `kwokctl logs {dead[0]} --name {name}`")
        raise not_ready(name, READY_TIMEOUT)

    def _reconcile(self, api: Cluster, spec: KfDef, progress: Progress) -> int:
        """Make nodes and storage match the spec; returns the number of nodes wanted."""
        nodes = node_manifests(node_pools(spec))
        progress(f"applying {len(nodes)} simulated node(s) and StorageClass standard ...")
        kube.apply_nodes(api, nodes)
        stale = stale_nodes(kube.pool_node_names(api), [n["metadata"]["name"] for n in nodes])
        if stale:
            progress(f"removing node(s) no longer in the spec: {', '.join(stale)}")
            kube.delete_nodes(api, stale)
        kube.apply_storage_class(api, storage_class())
        names = [n["metadata"]["name"] for n in nodes]
        if not kube.wait_until(lambda: not kube.not_ready_nodes(api, names), NODES_TIMEOUT, self.poller):
            waiting = ", ".join(kube.not_ready_nodes(api, names))
            raise PlatformError(
                f"kwok cluster {spec.metadata.name}: node(s) {waiting} not Ready and schedulable "
                f"within {NODES_TIMEOUT:.0f}s (kwok-controller marks simulated nodes Ready, then "
                "kube-controller-manager removes the node.kubernetes.io/not-ready taint)",
                hint=f"read `kwokctl logs kwok-controller --name {spec.metadata.name}`, then "
                     "kube-controller-manager's")
        return len(nodes)

    def _api(self, spec: KfDef) -> Cluster:
        path = self.kubeconfig(spec)
        if not path.is_file():
            raise PlatformError(f"kwokctl wrote no kubeconfig at {path}",
                                hint=f"delete and recreate the cluster: kwokctl delete cluster "
                                     f"--name {spec.metadata.name}")
        return kube.connect(path, self.context(spec))

    def _answers(self, spec: KfDef) -> bool:
        if not self.kubeconfig(spec).is_file():
            return False
        api = self._api(spec)
        try:
            kube.server_version(api, timeout=3)
            return True
        except kube.UNREACHABLE:
            return False
        finally:
            api.close()

    def _wait_answers(self, spec: KfDef, timeout: float) -> bool:
        return kube.wait_until(lambda: self._answers(spec), timeout, replace(self.poller, interval=1.0))


def service_account_kubeconfig(spec: KfDef, account: str = "kfdeploy-limited", hours: int = 4) -> Path:
    """A kubeconfig for the cluster as a cluster-admin ServiceAccount, beside kwokctl's own.

    kwokctl's kubeconfig is in the group system:masters, which kube-apiserver's request limits
    exempt; through this one, the limits ``apiServerArgs`` sets (``max-requests-inflight``) apply,
    so tests and benchmarks see the 429s a loaded shared cluster gives."""
    platform = KwokPlatform()
    source = platform.kubeconfig(spec)
    api = platform._api(spec)
    try:
        api.apply({"apiVersion": "v1", "kind": "ServiceAccount",
                   "metadata": {"name": account, "namespace": "kube-system"}}, force=True)
        api.apply({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
                   "metadata": {"name": account},
                   "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
                   "subjects": [{"kind": "ServiceAccount", "name": account, "namespace": "kube-system"}]}, force=True)
        token = api.call("POST", f"/api/v1/namespaces/kube-system/serviceaccounts/{account}/token",
                         body={"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
                               "spec": {"expirationSeconds": hours * 3600}},
                         content_type="application/json")["status"]["token"]
    finally:
        api.close()
    config = yaml.safe_load(source.read_text())
    context = next(c for c in config["contexts"] if c["name"] == platform.context(spec))
    context["context"]["user"] = account
    config.update(contexts=[context], users=[{"name": account, "user": {"token": token}}],
                  **{"current-context": context["name"]})
    target = source.with_name(f"kubeconfig-{account}.yaml")
    target.touch(mode=0o600)
    target.write_text(yaml.safe_dump(config))
    return target


def not_ready(name: str, timeout: float) -> PlatformError:
    """The error when the control plane does not become ready: which logs to read."""
    return PlatformError(
        f"kwok cluster {name} was not ready within {timeout:.0f}s (kube-apiserver /readyz and "
        "the default ServiceAccount, which kube-controller-manager creates)",
        hint=f"read `kwokctl logs kube-apiserver --name {name}` first, then "
             f"kube-controller-manager and etcd (all components: {', '.join(COMPONENTS)})")
