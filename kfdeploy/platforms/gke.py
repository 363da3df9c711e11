"""The gke platform: a GKE cluster with GPU node pools, created or reused through the GKE API.

Every call goes through ``google-cloud-container``'s ClusterManagerClient over REST; the
decisions (which pools, what differs, the kubeconfig) are pure functions in ``gke_model`` and
failures are put in plain words by ``gke_errors``. ``ensure_cluster`` is idempotent: an existing
cluster is reused, missing node pools are added and autoscaling bounds updated, nothing is ever
deleted except by ``delete_cluster``. ``KFDEPLOY_GKE_ENDPOINT`` points the client at another
endpoint (a local fake in the tests, a private or regional endpoint in production).
"""

from __future__ import annotations

import os
import re
import shutil
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import google.auth
import requests
import yaml
from google.api_core import exceptions as api
from google.auth import credentials as ga_credentials
from google.auth import exceptions as auth_errors
from google.auth.transport.requests import AuthorizedSession
from google.cloud import container_v1 as gke

from kfdeploy.errors import PlatformError
from kfdeploy.findings import Finding
from kfdeploy.library import default_root
from kfdeploy.platforms import ClusterInfo, Progress, no_progress
from kfdeploy.platforms import cloud_offers as offers
from kfdeploy.platforms.gke_errors import Context, Failure, to_platform_error
from kfdeploy.platforms.gke_model import (
    AUTH_PLUGIN,
    AUTH_PLUGIN_HINT,
    CLOUD_PLATFORM_SCOPE,
    Target,
    autoscaling,
    cluster_message,
    gke_settings,
    kubeconfig_dict,
    node_pool,
    plan_pools,
    platform_defaults,
    wanted_pools,
)
from kfdeploy.platforms.kubeconfigs import kubeconfig_file, write_private
from kfdeploy.poll import Poller
from kfdeploy.spec.platform import GkeNodePool

if TYPE_CHECKING:
    from kfdeploy.spec import KfDef
    from kfdeploy.spec.platform import GkePlatform as GkeSettings

ENDPOINT_ENV = "KFDEPLOY_GKE_ENDPOINT"
COMPUTE_ENDPOINT_ENV = "KFDEPLOY_GCE_ENDPOINT"
ZONE = re.compile(r"^[a-z]+-[a-z]+[0-9]+-[a-z]$")
CREATE_TIMEOUT = 45 * 60.0
POOL_TIMEOUT = 30 * 60.0
DELETE_TIMEOUT = 30 * 60.0
CALL_TIMEOUT = 60.0
BUSY = (gke.Cluster.Status.PROVISIONING, gke.Cluster.Status.RECONCILING)
CredentialsSource = Callable[[], ga_credentials.Credentials]


class OperationTimeout(PlatformError):
    """A GKE operation outlived its deadline; it goes on in GKE and may still succeed."""


def default_credentials() -> ga_credentials.Credentials:
    """Application Default Credentials, as gcloud and every Google client library use them."""
    try:
        creds, _ = google.auth.default(scopes=[CLOUD_PLATFORM_SCOPE])
    except auth_errors.DefaultCredentialsError as e:
        raise PlatformError(
            "no Google Cloud credentials found (Application Default Credentials)",
            hint="run `gcloud auth application-default login`, or set "
                 "GOOGLE_APPLICATION_CREDENTIALS to a service-account key file") from e
    return creds


class GkePlatform:
    """``Platform`` for ``spec.platform.kind: gke``.

    The collaborators are parameters so tests can run against a local fake with anonymous
    credentials and a clock that does not wait.
    """

    def __init__(self, credentials: CredentialsSource = default_credentials, *,
                 endpoint: str | None = None, kube_dir: Path | None = None,
                 defaults_file: Path | None = None, poll_interval: float = 10.0,
                 sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.monotonic,
                 which: Callable[[str], str | None] = shutil.which) -> None:
        self._credentials = credentials
        self._endpoint = endpoint
        self._kube_dir = kube_dir
        self._defaults_file = defaults_file or default_root() / "platforms" / "gke.yaml"
        self._poller = Poller(sleep, clock, poll_interval)
        self._which = which
        self._client: gke.ClusterManagerClient | None = None
        self._session: AuthorizedSession | None = None

    # -- the Platform interface ------------------------------------------------------------

    def kubeconfig(self, spec: KfDef) -> Path:
        target, settings = Target.of(spec), gke_settings(spec)
        cluster = self._find(target, settings)
        if cluster is None:
            raise PlatformError(
                f"GKE cluster {target.name} does not exist in project {target.project}, "
                f"location {target.location}", hint="create it first: `kfdeploy cluster create`")
        return self._write_kubeconfig(target, cluster)

    def ensure_cluster(self, spec: KfDef, progress: Progress) -> ClusterInfo:
        target, settings = Target.of(spec), gke_settings(spec)
        default_version, default_pools = platform_defaults(self._defaults_file)
        pools = wanted_pools(settings, default_pools)
        cluster = self._find(target, settings)
        created = cluster is None
        if cluster is None:
            self._create(target, settings, settings.cluster.version or default_version, pools,
                         progress)
        else:
            self._reconcile(target, settings, cluster, pools, progress)
        cluster = self._get(target, settings)
        path = self._write_kubeconfig(target, cluster)
        if self._which(AUTH_PLUGIN) is None:
            progress(f"warning: {AUTH_PLUGIN} is not on PATH; the kubeconfig needs it. "
                     f"{AUTH_PLUGIN_HINT}")
        return ClusterInfo(name=target.name, kubeconfig=path, context=target.context,
                           created=created, nodes=cluster.current_node_count)

    def delete_cluster(self, spec: KfDef, progress: Progress = no_progress) -> None:
        target, settings = Target.of(spec), gke_settings(spec)
        ctx = Context(target, settings, f"deleting GKE cluster {target.name}", "delete")
        op = self._call(ctx, "delete_cluster", {"name": target.cluster_path}, missing_ok=True)
        if op is not None:
            self._wait(op, ctx, f"deleting cluster {target.name}", DELETE_TIMEOUT, progress)
        self._kubeconfig_path(target).unlink(missing_ok=True)

    def preflight(self, spec: KfDef) -> list[Finding]:
        """Before creating or changing the cluster: the version (for a new cluster) and the node
        pools' machine and GPU types to be created are offered in the location and its zones."""
        target, settings = Target.of(spec), gke_settings(spec)
        default_version, default_pools = platform_defaults(self._defaults_file)
        pools = wanted_pools(settings, default_pools)
        cluster = self._find(target, settings)
        out: list[Finding] = []
        if cluster is None:
            ctx = Context(target, settings, "reading the versions GKE offers", "get")
            config = self._call(ctx, "get_server_config", {"name": target.parent})
            offered = [*config.valid_master_versions, *(v for c in config.channels for v in c.valid_versions)]
            out.append(offers.version_finding("GKE", target.location, settings.cluster.version or default_version,
                                              offered))
        else:
            pools = list(plan_pools(pools, cluster.node_pools).create)
        zonal = ZONE.match(target.location) is not None
        zones = [target.location] if zonal else self._region_zones(target)
        for pool in pools:
            what = f"node pool {pool.name}"
            machines = {z: self._compute_has(target, f"zones/{z}/machineTypes/{pool.machine_type}") for z in zones}
            out += offers.zone_findings(what, "machine type", pool.machine_type, zones, machines, zonal)
            for accel in pool.accelerators:
                gpus = {z: accel.type in self._accelerators(target, z) for z in zones}
                out += offers.zone_findings(what, "accelerator", accel.type, zones, gpus, zonal)
        return out

    def describe(self, spec: KfDef) -> dict[str, Any]:
        target, settings = Target.of(spec), gke_settings(spec)
        cluster = self._find(target, settings)
        data: dict[str, Any] = {
            "platform": "gke", "name": target.name, "project": target.project,
            "location": target.location, "exists": cluster is not None,
            "kubeconfig": str(self._kubeconfig_path(target)), "context": target.context}
        if cluster is not None:
            data.update(status=cluster.status.name, version=cluster.current_master_version,
                        endpoint=cluster.endpoint, nodes=cluster.current_node_count,
                        nodePools=[_pool_summary(p) for p in cluster.node_pools])
        return data

    # -- creating and reconciling ----------------------------------------------------------

    def _create(self, target: Target, settings: GkeSettings, version: str,
                pools: Sequence[GkeNodePool], progress: Progress) -> None:
        names = ", ".join(f"{p.name} ({p.machine_type}{_accel_suffix(p)})" for p in pools)
        progress(f"creating GKE cluster {target.name} in {target.location} (project "
                 f"{target.project}, version {version or 'GKE default'}, node pools: {names}) ...")
        ctx = Context(target, settings, f"creating GKE cluster {target.name}", "create")
        request = {"parent": target.parent, "cluster": cluster_message(target, version, pools)}
        op = self._call(ctx, "create_cluster", request)
        try:
            self._wait(op, ctx, f"creating cluster {target.name}", CREATE_TIMEOUT, progress)
        except OperationTimeout:
            raise
        except PlatformError as e:
            e.hint = (f"{e.hint}; the failed cluster stays in state ERROR: remove it with "
                      "`kfdeploy cluster delete` before re-running")
            raise

    def _reconcile(self, target: Target, settings: GkeSettings, cluster: gke.Cluster,
                   pools: Sequence[GkeNodePool], progress: Progress) -> None:
        """Reuse the cluster: add missing pools, update autoscaling bounds, report the rest."""
        cluster = self._wait_settled(target, settings, cluster, progress)
        progress(f"reusing GKE cluster {target.name} in {target.location} "
                 f"({cluster.status.name}, version {cluster.current_master_version})")
        wanted_version = settings.cluster.version
        if wanted_version and not cluster.current_master_version.startswith(wanted_version):
            progress(f"note: the cluster runs {cluster.current_master_version}, the spec asks for "
                     f"{wanted_version}; kfdeploy does not upgrade clusters (`gcloud container "
                     f"clusters upgrade {target.name} --master --cluster-version {wanted_version}`)")
        plan = plan_pools(pools, cluster.node_pools)
        for line in plan.drift:
            progress(f"note: {line}; GKE cannot change it in place, so kfdeploy leaves the pool "
                     "as it is (recreate the pool to change it)")
        for name in plan.extra:
            progress(f"note: node pool {name} is in the cluster but not in the spec; kfdeploy "
                     f"leaves it (remove it with `gcloud container node-pools delete {name} "
                     f"--cluster {target.name} --location {target.location}`)")
        for i, pool in enumerate(plan.create, 1):
            self._add_pool(target, settings, pool, f"({i}/{len(plan.create)})", progress)
        for pool in plan.autoscale:
            self._set_autoscaling(target, settings, pool, progress)
        if not (plan.create or plan.autoscale):
            progress("node pools match the spec")

    def _add_pool(self, target: Target, settings: GkeSettings, pool: GkeNodePool, of: str,
                  progress: Progress) -> None:
        ctx = Context(target, settings, f"creating node pool {pool.name}", "update")
        request = {"parent": target.cluster_path,
                   "node_pool": node_pool(pool, pool.autoscaling.min)}
        op = self._call(ctx, "create_node_pool", request)
        self._wait(op, ctx, f"creating node pool {pool.name} {of}", POOL_TIMEOUT, progress)

    def _set_autoscaling(self, target: Target, settings: GkeSettings, pool: GkeNodePool,
                         progress: Progress) -> None:
        bounds = f"{pool.autoscaling.min}..{pool.autoscaling.max}"
        ctx = Context(target, settings, f"updating autoscaling of node pool {pool.name}", "update")
        request = {"name": target.pool_path(pool.name), "autoscaling": autoscaling(pool)}
        op = self._call(ctx, "set_node_pool_autoscaling", request)
        self._wait(op, ctx, f"setting autoscaling of node pool {pool.name} to {bounds} nodes",
                   POOL_TIMEOUT, progress)

    def _wait_settled(self, target: Target, settings: GkeSettings, cluster: gke.Cluster,
                      progress: Progress) -> gke.Cluster:
        """Wait out a running operation (GKE runs one at a time); refuse dying clusters."""
        first, latest = [cluster], [cluster]

        def current() -> gke.Cluster:
            latest[0] = first.pop() if first else self._get(target, settings)
            return latest[0]

        cluster = self._poller.until(
            current, lambda c: c.status not in BUSY,
            lambda: f"cluster {target.name} is {latest[0].status.name}; waiting", CREATE_TIMEOUT, progress,
            on_timeout=lambda c: PlatformError(f"GKE cluster {target.name} is still {c.status.name} "
                                               f"after {CREATE_TIMEOUT / 60:.0f}m", hint="re-run when it is RUNNING"))
        if cluster.status == gke.Cluster.Status.STOPPING:
            raise PlatformError(f"GKE cluster {target.name} is being deleted",
                                hint="wait until the deletion finishes, then re-run to create it")
        if cluster.status == gke.Cluster.Status.ERROR:
            raise PlatformError(
                f"GKE cluster {target.name} is in state ERROR: {cluster.status_message or '-'}",
                hint=f"inspect it with `gcloud container clusters describe {target.name} "
                     f"--location {target.location}`; `kfdeploy cluster delete` and re-create it")
        return cluster

    # -- API calls -------------------------------------------------------------------------

    def _api(self) -> gke.ClusterManagerClient:
        if self._client is None:
            endpoint = self._endpoint or os.environ.get(ENDPOINT_ENV)
            options = {"api_endpoint": endpoint} if endpoint else None
            self._client = gke.ClusterManagerClient(
                credentials=self._credentials(), transport="rest", client_options=options)
        return self._client

    def _call(self, ctx: Context, method: str, request: dict[str, Any],
              missing_ok: bool = False) -> Any:
        """One API call; failures become PlatformErrors (NotFound becomes None if missing_ok)."""
        try:
            return getattr(self._api(), method)(request=request, timeout=CALL_TIMEOUT)
        except api.GoogleAPICallError as e:
            if missing_ok and isinstance(e, api.NotFound):
                return None
            raise to_platform_error(Failure.of_call(e), ctx) from e
        except auth_errors.GoogleAuthError as e:
            raise PlatformError(f"Google Cloud credentials failed while {ctx.doing}: {e}",
                                hint="log in again: `gcloud auth application-default login`") from e
        except requests.exceptions.ConnectionError as e:
            where = self._endpoint or os.environ.get(ENDPOINT_ENV) or "container.googleapis.com"
            raise PlatformError(f"cannot reach the GKE API at {where} while {ctx.doing}",
                                hint=f"check the network (and {ENDPOINT_ENV} if set)") from e

    def _find(self, target: Target, settings: GkeSettings) -> gke.Cluster | None:
        ctx = Context(target, settings, f"looking up GKE cluster {target.name}", "get")
        cluster: gke.Cluster | None = self._call(ctx, "get_cluster", {"name": target.cluster_path},
                                                 missing_ok=True)
        return cluster

    def _get(self, target: Target, settings: GkeSettings) -> gke.Cluster:
        ctx = Context(target, settings, f"reading GKE cluster {target.name}", "get")
        cluster: gke.Cluster = self._call(ctx, "get_cluster", {"name": target.cluster_path})
        return cluster

    def _wait(self, op: gke.Operation, ctx: Context, what: str, timeout: float,
              progress: Progress) -> None:
        """Poll a long-running operation until DONE, one progress line per poll."""
        first = [op]

        def current() -> gke.Operation:
            latest: gke.Operation = first.pop() if first else self._call(
                ctx, "get_operation", {"name": ctx.target.operation_path(op.name)})
            return latest

        def timed_out(last: gke.Operation) -> OperationTimeout:
            t = ctx.target
            return OperationTimeout(
                f"{what}: operation {last.name} still {last.status.name} after "
                f"{timeout / 60:.0f}m; GKE goes on with it",
                hint=f"follow it with `gcloud container operations describe {last.name} "
                     f"--location {t.location} --project {t.project}`, re-run when it is done")

        op = self._poller.until(current, lambda o: o.status == gke.Operation.Status.DONE, what, timeout,
                                progress, on_timeout=timed_out)
        if op.error.code or op.error.message or op.status_message:
            failure = Failure.of_operation(op.error.code, op.error.message or op.status_message)
            raise to_platform_error(failure, ctx)
        progress(f"{what}: done")

    # -- Compute Engine (what zones offer) ---------------------------------------------------

    def _compute(self, target: Target, path: str) -> dict[str, Any] | None:
        """GET a Compute Engine resource of the project; None when it does not exist."""
        if self._session is None:
            self._session = AuthorizedSession(self._credentials())  # type: ignore[no-untyped-call]
        base = (os.environ.get(COMPUTE_ENDPOINT_ENV) or "https://compute.googleapis.com").rstrip("/")
        url = f"{base}/compute/v1/projects/{target.project}/{path}"
        try:
            resp = self._session.get(url, timeout=CALL_TIMEOUT)
        except requests.exceptions.RequestException as e:
            raise PlatformError(f"cannot reach the Compute Engine API at {base}: {e}",
                                hint=f"check the network (and {COMPUTE_ENDPOINT_ENV} if set)") from e
        if resp.status_code == 404:
            return None
        if resp.status_code >= 400:
            raise PlatformError(f"Compute Engine API: GET {path} answered {resp.status_code}: {resp.text[:200]}",
                                hint="the credentials need compute.zones.get and compute.acceleratorTypes.list"
                                     " (roles/compute.viewer)")
        data: dict[str, Any] = resp.json()
        return data

    def _compute_has(self, target: Target, path: str) -> bool:
        return self._compute(target, path) is not None

    def _accelerators(self, target: Target, zone: str) -> set[str]:
        found = self._compute(target, f"zones/{zone}/acceleratorTypes") or {}
        return {str(item.get("name")) for item in found.get("items", [])}

    def _region_zones(self, target: Target) -> list[str]:
        region = self._compute(target, f"regions/{target.location}")
        if region is None:
            raise PlatformError(f"GKE location {target.location} is neither a zone nor a region of Compute Engine",
                                hint="set spec.platform.gke.location to a zone (us-central1-a) or region (us-central1)")
        return sorted(str(z).rsplit("/", 1)[-1] for z in region.get("zones", []))

    # -- kubeconfig ------------------------------------------------------------------------

    def _kubeconfig_path(self, target: Target) -> Path:
        return kubeconfig_file(target.name, self._kube_dir)

    def _write_kubeconfig(self, target: Target, cluster: gke.Cluster) -> Path:
        """Write (owner-only, atomically) the kubeconfig of a cluster that has an endpoint."""
        if not cluster.endpoint:
            raise PlatformError(
                f"GKE cluster {target.name} has no endpoint yet (status {cluster.status.name})",
                hint="re-run when the cluster is RUNNING")
        path = self._kubeconfig_path(target)
        write_private(path, yaml.safe_dump(kubeconfig_dict(
            target, cluster.endpoint, cluster.master_auth.cluster_ca_certificate), sort_keys=False))
        return path


def _accel_suffix(pool: GkeNodePool) -> str:
    return "".join(f", {a.count}x {a.type}" for a in pool.accelerators)


def _pool_summary(pool: gke.NodePool) -> dict[str, Any]:
    """A node pool as plain data for ``describe``."""
    return {"name": pool.name, "machineType": pool.config.machine_type,
            "autoscaling": {"enabled": pool.autoscaling.enabled,
                            "min": pool.autoscaling.min_node_count,
                            "max": pool.autoscaling.max_node_count},
            "accelerators": [{"type": a.accelerator_type, "count": a.accelerator_count}
                             for a in pool.config.accelerators],
            "status": pool.status.name}
