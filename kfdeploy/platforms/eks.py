"""The EKS platform: an Amazon EKS cluster with managed node groups, created or reused with boto3.

``ensure_cluster`` walks the same path eksctl does (IAM roles, networking, control plane, node
groups, kubeconfig) but every step first looks for what exists: a re-run reuses the cluster,
brings node group scaling, labels and taints to the spec, and creates nothing. The kubeconfig's
credential plugin is kfdeploy's own token module, so the AWS CLI is not needed.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from kfdeploy.errors import PlatformError, ToolMissingError
from kfdeploy.platforms import ClusterInfo, Progress, no_progress

try:
    import boto3
except ImportError as _e:  # pragma: no cover - depends on the installation
    raise ToolMissingError("the eks platform needs boto3",
                           hint="pip install 'kfdeploy[cloud]'") from _e

from kfdeploy.findings import Finding, warn
from kfdeploy.platforms import cloud_offers as offers
from kfdeploy.platforms import eks_infra as infra
from kfdeploy.platforms import eks_nodes as nodes
from kfdeploy.platforms.eks_errors import Ctx, aws_call, aws_find
from kfdeploy.platforms.eks_nodegroups import NodeGroupPlan, desired_size, plan_from_defaults, plan_from_spec
from kfdeploy.platforms.eks_nodes import AWS_HINT
from kfdeploy.platforms.eks_token import make_client
from kfdeploy.platforms.kubeconfigs import kubeconfig_file, write_private
from kfdeploy.poll import Poller

if TYPE_CHECKING:
    from kfdeploy.spec import KfDef
    from kfdeploy.spec.platform import EksPlatform as EksSettings

CLUSTER_TIMEOUT = 30 * 60.0
DEPENDENCY_TIMEOUT = 10 * 60.0
POLL_INTERVAL = 15.0
ROLE_PROPAGATION_TIMEOUT = 2 * 60.0
NOT_FOUND = ["ResourceNotFoundException"]


@dataclass(frozen=True)
class Aws:
    """The clients of one region, and its partition (``aws``, ``aws-cn``, ``aws-us-gov``)."""

    eks: Any
    iam: Any
    ec2: Any
    region: str
    partition: str


def eks_settings(spec: KfDef) -> EksSettings:
    """``spec.platform.eks``; any other platform kind is a programming error made plain."""
    from kfdeploy.spec.platform import EksPlatform as Settings
    settings = spec.spec.platform.settings
    if not isinstance(settings, Settings):
        raise PlatformError(f"the eks platform got a spec of platform kind "
                            f"{spec.spec.platform.kind!r}", hint="set spec.platform.kind: eks")
    return settings


def default_defaults_file() -> Path:
    from kfdeploy.library import default_root
    return default_root() / "platforms" / "eks.yaml"


def load_defaults(path: Path) -> tuple[str | None, list[dict[str, Any]]]:
    """The default Kubernetes version and node groups of platforms/eks.yaml (none if absent)."""
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except FileNotFoundError:
        return None, []
    except (OSError, yaml.YAMLError) as e:
        raise PlatformError(f"cannot read the EKS platform defaults {path}: {e}") from e
    version = raw.get("kubernetesVersion")
    return (str(version) if version else None,
            list((raw.get("defaults") or {}).get("nodeGroups") or []))


def kubeconfig_data(name: str, region: str, cluster: dict[str, Any], profile: str | None
                    ) -> dict[str, Any]:
    """A kubeconfig for ``cluster`` (a describe_cluster ``cluster``) whose user runs
    ``<this python> -m kfdeploy.platforms.eks_token``."""
    context = f"eks-{name}"
    exec_env = {"env": [{"name": "AWS_PROFILE", "value": profile}]} if profile else {}
    return {
        "apiVersion": "v1", "kind": "Config", "preferences": {}, "current-context": context,
        "clusters": [{"name": cluster["arn"], "cluster": {
            "server": cluster["endpoint"],
            "certificate-authority-data": cluster["certificateAuthority"]["data"]}}],
        "contexts": [{"name": context, "context": {"cluster": cluster["arn"], "user": context}}],
        "users": [{"name": context, "user": {"exec": {
            "apiVersion": "client.authentication.k8s.io/v1beta1",
            "command": str(Path(sys.executable).absolute()),
            "args": ["-m", "kfdeploy.platforms.eks_token", "--cluster", name, "--region", region],
            **exec_env, "interactiveMode": "Never", "provideClusterInfo": False}}}],
    }


class EksPlatform:
    """``Platform`` for ``spec.platform.kind: eks``. The boto3 session, the kubeconfig
    directory, the defaults file and the clock can be injected (tests use a moto server)."""

    def __init__(self, session: Any = None, *, kubeconfig_dir: Path | None = None,
                 defaults_file: Path | None = None, sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.monotonic,
                 poll_interval: float = POLL_INTERVAL) -> None:
        self._session = session
        self._kubeconfig_dir = kubeconfig_dir
        self._defaults_file = defaults_file
        self._poller = Poller(sleep, clock, poll_interval, hint=AWS_HINT)
        self._clients: dict[str, Aws] = {}

    # -- the Platform interface ------------------------------------------------------------

    def ensure_cluster(self, spec: KfDef, progress: Progress) -> ClusterInfo:
        settings, name = eks_settings(spec), spec.metadata.name
        aws = self.aws(settings.region)
        plans = self.node_group_plans(spec)
        version = settings.cluster.version or load_defaults(self.defaults_file)[0]
        current = self._find_cluster(aws, name)
        node_role = cache(lambda: infra.ensure_role(aws.iam, name, infra.NODE_ROLE,
                                                    aws.partition, progress)[0])
        if current is None:
            node_role()  # made now, IAM has propagated it by the time node groups need it
            self._create_cluster(aws, spec, version, plans, progress)
        else:
            self._check_existing(current, settings, settings.cluster.version, progress)
        cluster = self._wait_cluster(aws, name, progress)
        subnets = list(cluster["resourcesVpcConfig"]["subnetIds"])
        nodes.reconcile(aws.eks, name, plans, subnets, node_role, self._poller, progress)
        path = self._write_kubeconfig(spec, aws, cluster)
        progress(f"kubeconfig {path} (context {self.context(spec)})")
        return ClusterInfo(name=name, kubeconfig=path, context=self.context(spec),
                           created=current is None, nodes=sum(desired_size(p) for p in plans))

    def kubeconfig(self, spec: KfDef) -> Path:
        settings, name = eks_settings(spec), spec.metadata.name
        aws = self.aws(settings.region)
        cluster = self._find_cluster(aws, name)
        if cluster is None:
            raise PlatformError(f"EKS cluster {name} does not exist in region {aws.region}",
                                hint="create it first: `kfdeploy cluster create`")
        return self._write_kubeconfig(spec, aws, cluster)

    def delete_cluster(self, spec: KfDef, progress: Progress = no_progress) -> None:
        settings, name = eks_settings(spec), spec.metadata.name
        aws = self.aws(settings.region)
        if self._find_cluster(aws, name) is not None:
            nodes.delete_all(aws.eks, name, self._poller, progress)
            progress(f"deleting EKS cluster {name} ...")
            aws_find(aws.eks, "delete_cluster", Ctx(f"deleting EKS cluster {name}"), NOT_FOUND,
                     name=name)
            self._poller.until(lambda: self._find_cluster(aws, name), lambda c: c is None,
                               f"deleting EKS cluster {name}", CLUSTER_TIMEOUT, progress)
        for role in (infra.NODE_ROLE, infra.CLUSTER_ROLE):
            infra.delete_role(aws.iam, name, role, progress)
        infra.delete_network(aws.ec2, name, progress, self._retry_dependency)
        path = self.kubeconfig_path(spec)
        if path.exists():
            path.unlink()

    def preflight(self, spec: KfDef) -> list[Finding]:
        """Before creating or changing the cluster: the version (for a new cluster) and the
        instance types of node groups to be created are offered in the region and subnets' zones."""
        settings, name = eks_settings(spec), spec.metadata.name
        aws = self.aws(settings.region)
        plans = self.node_group_plans(spec)
        out: list[Finding] = []
        if self._find_cluster(aws, name) is None:
            out.append(self._version_finding(aws, settings.cluster.version or load_defaults(self.defaults_file)[0]))
        else:
            existing = set(nodes.names(aws.eks, name))
            plans = [p for p in plans if p.name not in existing]
        types = sorted({t for p in plans for t in p.instance_types})
        offered = infra.zone_offerings(aws.ec2, types) if types else {}
        zones = self._subnet_zones(aws, settings) if settings.cluster.vpc else sorted(
            {z for zs in offered.values() for z in zs})
        for plan in plans:
            for itype in plan.instance_types:
                where = zones if settings.cluster.vpc else sorted(offered[itype]) or [aws.region]
                out += offers.zone_findings(f"node group {plan.name}", "instance type", itype, where,
                                            {z: z in offered[itype] for z in where}, zones_chosen=True)
        return out

    def _version_finding(self, aws: Aws, version: str | None) -> Finding:
        ctx = Ctx("listing the Kubernetes versions EKS offers")
        try:
            found = aws_call(aws.eks, "describe_cluster_versions", ctx)
        except PlatformError as e:
            return warn(offers.CHECK, f"EKS Kubernetes {version or '(default)'}",
                        f"cannot list the versions EKS offers in {aws.region}: {e.message}",
                        "check `aws eks describe-cluster-versions`; the credentials need eks:DescribeClusterVersions")
        offered = [str(v.get("clusterVersion")) for v in found.get("clusterVersions", [])]
        return offers.version_finding("EKS", aws.region, version or "", offered)

    def _subnet_zones(self, aws: Aws, settings: EksSettings) -> list[str]:
        assert settings.cluster.vpc is not None
        found = aws_call(aws.ec2, "describe_subnets", Ctx("looking up the zones of the spec's subnets"),
                         SubnetIds=list(settings.cluster.vpc.subnet_ids))
        return sorted({s["AvailabilityZone"] for s in found.get("Subnets", [])})

    def describe(self, spec: KfDef) -> dict[str, Any]:
        settings, name = eks_settings(spec), spec.metadata.name
        aws = self.aws(settings.region)
        cluster = self._find_cluster(aws, name)
        data: dict[str, Any] = {"platform": "eks", "name": name, "region": aws.region,
                                "exists": cluster is not None,
                                "kubeconfig": str(self.kubeconfig_path(spec)),
                                "context": self.context(spec)}
        if cluster is not None:
            groups = [nodes.describe(aws.eks, name, ng) or {"nodegroupName": ng}
                      for ng in nodes.names(aws.eks, name)]
            data.update(status=cluster["status"], version=cluster.get("version"),
                        endpoint=cluster.get("endpoint"), nodeGroups=[_summary(g) for g in groups])
        return data

    # -- settings ------------------------------------------------------------------------

    @property
    def defaults_file(self) -> Path:
        return self._defaults_file or default_defaults_file()

    def node_group_plans(self, spec: KfDef) -> list[NodeGroupPlan]:
        """The spec's node groups, or the platform defaults when it lists none."""
        groups = eks_settings(spec).cluster.node_groups
        if groups:
            return [plan_from_spec(g, i) for i, g in enumerate(groups)]
        source = self.defaults_file
        return [plan_from_defaults(raw, i, str(source))
                for i, raw in enumerate(load_defaults(source)[1])]

    def context(self, spec: KfDef) -> str:
        return f"eks-{spec.metadata.name}"

    def kubeconfig_path(self, spec: KfDef) -> Path:
        return kubeconfig_file(spec.metadata.name, self._kubeconfig_dir)

    def aws(self, region: str) -> Aws:
        """The clients of ``region`` (made once; tests attach botocore Stubbers to them)."""
        if region not in self._clients:
            session = self._session or boto3.Session()
            self._session = session
            self._clients[region] = Aws(
                eks=make_client(session, "eks", region), iam=make_client(session, "iam", region),
                ec2=make_client(session, "ec2", region), region=region,
                partition=session.get_partition_for_region(region))
        return self._clients[region]

    # -- control plane ---------------------------------------------------------------------

    def _find_cluster(self, aws: Aws, name: str) -> dict[str, Any] | None:
        found = aws_find(aws.eks, "describe_cluster", Ctx(f"looking up EKS cluster {name}"),
                         NOT_FOUND, name=name)
        return found["cluster"] if found else None

    def _create_cluster(self, aws: Aws, spec: KfDef, version: str | None,
                        plans: list[NodeGroupPlan], progress: Progress) -> None:
        settings, name = eks_settings(spec), spec.metadata.name
        role, role_created = infra.ensure_role(aws.iam, name, infra.CLUSTER_ROLE, aws.partition,
                                               progress)
        if settings.cluster.vpc:
            subnets = list(settings.cluster.vpc.subnet_ids)
            progress(f"using subnets {', '.join(subnets)} (spec.platform.eks.cluster.vpc)")
        else:
            types = sorted({t for p in plans for t in p.instance_types})
            subnets = infra.ensure_network(aws.ec2, name, aws.region, types, progress)
        progress(f"creating EKS cluster {name} (Kubernetes {version or 'EKS default'}) in "
                 f"{aws.region}; this takes 10-15 minutes ...")
        params: dict[str, Any] = dict(
            name=name, roleArn=role, tags={infra.TAG: name},
            resourcesVpcConfig={"subnetIds": subnets, "endpointPublicAccess": True,
                                "endpointPrivateAccess": True},
            accessConfig={"authenticationMode": "API_AND_CONFIG_MAP",
                          "bootstrapClusterCreatorAdminPermissions": True})
        if version:
            params["version"] = version
        ctx = Ctx(f"creating EKS cluster {name}", field="spec.platform.eks.cluster")
        self._poller.retry(lambda: aws_call(aws.eks, "create_cluster", ctx, **params),
                           role_not_yet_visible if role_created else lambda _: False,
                           ROLE_PROPAGATION_TIMEOUT)

    def _check_existing(self, cluster: dict[str, Any], settings: EksSettings, version: str | None,
                        progress: Progress) -> None:
        name, status = cluster["name"], cluster["status"]
        if status in ("DELETING", "FAILED"):
            raise PlatformError(f"EKS cluster {name} is {status}",
                                hint="wait until it is gone (or delete it with `kfdeploy cluster "
                                     "delete`), then re-run")
        progress(f"reusing EKS cluster {name} ({status}, Kubernetes {cluster.get('version')})")
        if version and cluster.get("version") != version:
            progress(f"note: cluster {name} runs Kubernetes {cluster.get('version')} but the spec "
                     f"asks for {version}; kfdeploy does not upgrade a control plane (use "
                     f"`aws eks update-cluster-version --name {name} --kubernetes-version "
                     f"{version}`)")
        given = settings.cluster.vpc.subnet_ids if settings.cluster.vpc else None
        live = cluster["resourcesVpcConfig"]["subnetIds"]
        if given and sorted(given) != sorted(live):
            progress(f"note: cluster {name} uses subnets {', '.join(live)}, not those of "
                     "spec.platform.eks.cluster.vpc.subnetIds; EKS cannot move a cluster")

    def _wait_cluster(self, aws: Aws, name: str, progress: Progress) -> dict[str, Any]:
        def fetch() -> dict[str, Any]:
            cluster = self._find_cluster(aws, name)
            if cluster is None or cluster["status"] in ("FAILED", "DELETING"):
                state = cluster["status"] if cluster else "gone"
                raise PlatformError(f"EKS cluster {name} is {state} instead of ACTIVE",
                                    hint=f"see `aws eks describe-cluster --name {name} "
                                         f"--region {aws.region}`")
            return cluster
        return self._poller.until(fetch, lambda c: c["status"] == "ACTIVE",
                                  f"waiting for EKS cluster {name} to become ACTIVE",
                                  CLUSTER_TIMEOUT, progress)

    def _write_kubeconfig(self, spec: KfDef, aws: Aws, cluster: dict[str, Any]) -> Path:
        profile = getattr(self._session, "profile_name", None)
        data = kubeconfig_data(spec.metadata.name, aws.region, cluster,
                               profile if profile and profile != "default" else None)
        path = self.kubeconfig_path(spec)
        write_private(path, yaml.safe_dump(data, sort_keys=False))
        return path

    # -- retrying ---------------------------------------------------------------------------

    def _retry_dependency(self, call: Callable[[], Any], what: str) -> Any:
        """Retry while AWS says ``what`` still has dependents (ENIs of a deleted cluster)."""
        try:
            return self._poller.retry(call, infra.is_dependency_violation, DEPENDENCY_TIMEOUT)
        except PlatformError as e:
            if not infra.is_dependency_violation(e):
                raise
            raise PlatformError(f"cannot delete {what}: {e.message}",
                                hint="something outside kfdeploy still uses it (a load balancer, "
                                     "a network interface); delete that and re-run `kfdeploy "
                                     "cluster delete`") from e


def role_not_yet_visible(e: PlatformError) -> bool:
    """EKS's answer when IAM has not yet propagated a role made seconds ago."""
    return "assume" in e.message.lower()


def _summary(ng: dict[str, Any]) -> dict[str, Any]:
    """A node group in ``describe`` output."""
    return {"name": ng.get("nodegroupName"), "status": ng.get("status"),
            "amiType": ng.get("amiType"), "instanceTypes": ng.get("instanceTypes"),
            "scaling": ng.get("scalingConfig"), "labels": ng.get("labels"),
            "taints": ng.get("taints")}
