"""The EKS platform against moto in server mode: what AWS received, what exists afterwards,
idempotency, reconciliation, the kubeconfig, deletion, and each AWS error in plain words."""

from __future__ import annotations

import itertools
import json
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml
from botocore.stub import Stubber
from fakes.eks_moto import FAKE_ENV, Calls, moto_server, recording_session

from kfdeploy.errors import PlatformError
from kfdeploy.platforms import eks_infra as infra
from kfdeploy.platforms.eks import EksPlatform
from kfdeploy.platforms.eks_token import ENDPOINT_ENV
from kfdeploy.spec import KfDef, parse_spec

REGION = "us-west-2"
GPU = {"name": "gpu", "instanceType": "g5.xlarge", "scaling": {"min": 0, "max": 2, "desired": 1},
       "taints": [{"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"}],
       "labels": {"accelerator": "nvidia-a10g"}}
CPU = {"name": "cpu", "instanceType": "m5.2xlarge", "scaling": {"min": 1, "max": 4},
       "labels": {"pool": "cpu"}}
NAMES = itertools.count()
FAKE_SUBNETS = ["subnet-0aa11", "subnet-0bb22"]
CREATES = ("Create", "Attach", "Associate", "Modify", "Update", "Delete", "Detach", "Tag")


def spec_data(groups: list[dict[str, Any]] | None = None, *, version: str | None = None,
              subnets: list[str] | None = None, name: str = "demo") -> dict[str, Any]:
    cluster: dict[str, Any] = {"nodeGroups": groups if groups is not None else [CPU, GPU]}
    if version:
        cluster["version"] = version
    if subnets:
        cluster["vpc"] = {"subnetIds": subnets}
    return {"apiVersion": "kfdef.apps.kubeflow.org/v1", "kind": "KfDef",
            "metadata": {"name": name},
            "spec": {"platform": {"kind": "eks", "eks": {"region": REGION, "cluster": cluster}}}}


def eks_spec(groups: list[dict[str, Any]] | None = None, **kw: Any) -> KfDef:
    return parse_spec(spec_data(groups, **kw), "kfdef.yaml", Path("."))


@dataclass
class Aws:
    """The platform under test, the calls it made, its progress lines, and unrecorded clients
    to look at moto's state."""

    name: str
    platform: EksPlatform
    calls: Calls
    lines: list[str]
    eks: Any
    iam: Any
    ec2: Any

    def spec(self, groups: list[dict[str, Any]] | None = None, *, version: str | None = None,
             subnets: list[str] | None = FAKE_SUBNETS) -> KfDef:
        """This test's spec; it names subnets (moto does not check them) unless the test is
        about the VPC kfdeploy creates (``subnets=None``)."""
        return eks_spec(groups, version=version, subnets=subnets, name=self.name)

    def progress(self, line: str) -> None:
        self.lines.append(line)

    def mutations(self) -> list[str]:
        return [op for op in self.calls.ops() if op.split(":")[1].startswith(CREATES)]


@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    with pytest.MonkeyPatch.context() as mp:
        for key, value in FAKE_ENV.items():
            mp.setenv(key, value)
        with moto_server() as url:
            yield url


@pytest.fixture(scope="module")
def sessions(moto_url: str) -> tuple[Calls, boto3.Session, tuple[Any, ...]]:
    """One recorded session for the platform and unrecorded clients to look at moto's state
    (sessions are slow to make; the calls are cleared for every test)."""
    calls = Calls()
    look = boto3.Session(region_name=REGION, aws_access_key_id="testing",
                         aws_secret_access_key="testing")
    return calls, recording_session(calls), tuple(look.client(s, endpoint_url=moto_url)
                                                  for s in ("eks", "iam", "ec2"))


@pytest.fixture
def aws(moto_url: str, sessions: tuple[Calls, boto3.Session, tuple[Any, ...]],
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Aws:
    """Each test gets its own cluster name: moto's state is shared by the module (resetting it
    reloads every IAM managed policy, seconds per test), and kfdeploy finds resources by name
    and tag, so tests cannot see each other's."""
    for key, value in FAKE_ENV.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv(ENDPOINT_ENV, moto_url)
    calls, session, look = sessions
    calls.clear()
    platform = EksPlatform(session, kubeconfig_dir=tmp_path / "kube", sleep=lambda _: None,
                           poll_interval=0)
    return Aws(f"t{next(NAMES)}", platform, calls, [], *look)


def attached(iam: Any, role: str) -> list[str]:
    return sorted(p["PolicyName"] for p in
                  iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"])


def tagged_vpcs(ec2: Any, name: str) -> list[dict[str, Any]]:
    return list(ec2.describe_vpcs(Filters=[{"Name": "tag:kfdeploy.io/cluster",
                                            "Values": [name]}])["Vpcs"])


def test_create_makes_roles_network_cluster_and_node_groups(aws: Aws) -> None:
    info = aws.platform.ensure_cluster(aws.spec(subnets=None), aws.progress)

    cluster_role = aws.iam.get_role(RoleName=f"kfdeploy-{aws.name}-cluster")["Role"]
    node_role = aws.iam.get_role(RoleName=f"kfdeploy-{aws.name}-node")["Role"]
    trust = cluster_role["AssumeRolePolicyDocument"]
    trust = json.loads(trust) if isinstance(trust, str) else trust
    assert trust["Statement"][0]["Principal"] == {"Service": "eks.amazonaws.com"}
    assert "ec2.amazonaws.com" in json.dumps(node_role["AssumeRolePolicyDocument"])
    assert attached(aws.iam, f"kfdeploy-{aws.name}-cluster") == ["AmazonEKSClusterPolicy"]
    assert attached(aws.iam, f"kfdeploy-{aws.name}-node") == [
        "AmazonEC2ContainerRegistryReadOnly", "AmazonEKSWorkerNodePolicy", "AmazonEKS_CNI_Policy"]

    vpc = tagged_vpcs(aws.ec2, aws.name)[0]["VpcId"]
    subnets = aws.ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["Subnets"]
    assert len({s["AvailabilityZone"] for s in subnets}) == 2
    assert all(s["MapPublicIpOnLaunch"] for s in subnets)
    assert aws.ec2.describe_internet_gateways(Filters=[
        {"Name": "attachment.vpc-id", "Values": [vpc]}])["InternetGateways"]

    [create] = aws.calls.params("CreateCluster")
    assert create["version"] == "1.33"  # platforms/eks.yaml
    assert create["roleArn"] == cluster_role["Arn"]
    assert sorted(create["resourcesVpcConfig"]["subnetIds"]) == sorted(s["SubnetId"] for s in subnets)
    assert aws.eks.describe_cluster(name=aws.name)["cluster"]["version"] == "1.33"

    groups = {p["nodegroupName"]: p for p in aws.calls.params("CreateNodegroup")}
    assert groups["gpu"]["amiType"] == "AL2023_x86_64_NVIDIA"
    assert groups["gpu"]["diskSize"] == 100
    assert groups["gpu"]["taints"] == [{"key": "nvidia.com/gpu", "value": "present",
                                        "effect": "NO_SCHEDULE"}]
    assert groups["gpu"]["labels"] == {"accelerator": "nvidia-a10g"}
    assert groups["gpu"]["scalingConfig"] == {"minSize": 0, "maxSize": 2, "desiredSize": 1}
    assert groups["cpu"]["amiType"] == "AL2023_x86_64_STANDARD"
    assert groups["cpu"]["instanceTypes"] == ["m5.2xlarge"]
    assert groups["cpu"]["scalingConfig"] == {"minSize": 1, "maxSize": 4, "desiredSize": 1}
    assert {g["nodeRole"] for g in groups.values()} == {node_role["Arn"]}
    live = aws.eks.describe_nodegroup(clusterName=aws.name, nodegroupName="gpu")["nodegroup"]
    assert live["taints"] == groups["gpu"]["taints"]
    assert aws.calls.ops().count("iam:CreateRole") == 2
    assert (info.created, info.nodes, info.context) == (True, 2, f"eks-{aws.name}")


def test_second_run_creates_nothing(aws: Aws) -> None:
    aws.platform.ensure_cluster(aws.spec(subnets=None), aws.progress)
    aws.calls.clear()
    info = aws.platform.ensure_cluster(aws.spec(subnets=None), aws.progress)
    assert aws.mutations() == []
    assert info.created is False
    assert f"reusing EKS cluster {aws.name} (ACTIVE, Kubernetes 1.33)" in aws.lines


def test_scaling_labels_and_taints_are_reconciled_in_place(aws: Aws) -> None:
    aws.platform.ensure_cluster(aws.spec(), aws.progress)
    aws.calls.clear()
    gpu = {**GPU, "scaling": {"min": 1, "max": 4, "desired": 2}, "taints": [],
           "labels": {"accelerator": "nvidia-a10g", "team": "ml"}}
    cpu = {**CPU, "scaling": {"min": 2, "max": 6}}
    aws.platform.ensure_cluster(aws.spec([cpu, gpu]), aws.progress)

    assert aws.mutations() == ["eks:UpdateNodegroupConfig", "eks:UpdateNodegroupConfig"]
    updates = {p["nodegroupName"]: {k: v for k, v in p.items() if k != "clientRequestToken"}
               for p in aws.calls.params("UpdateNodegroupConfig")}
    assert updates["cpu"] == {"clusterName": aws.name, "nodegroupName": "cpu",
                              "scalingConfig": {"minSize": 2, "maxSize": 6, "desiredSize": 2}}
    assert updates["gpu"]["scalingConfig"] == {"minSize": 1, "maxSize": 4, "desiredSize": 2}
    assert updates["gpu"]["labels"] == {"addOrUpdateLabels": {"team": "ml"}}
    assert updates["gpu"]["taints"] == {"removeTaints": [
        {"key": "nvidia.com/gpu", "value": "present", "effect": "NO_SCHEDULE"}]}
    live = aws.eks.describe_nodegroup(clusterName=aws.name, nodegroupName="gpu")["nodegroup"]
    assert live["scalingConfig"] == {"minSize": 1, "maxSize": 4, "desiredSize": 2}
    assert live["taints"] == []


def test_extra_and_unchangeable_node_groups_are_reported_not_touched(aws: Aws) -> None:
    aws.platform.ensure_cluster(aws.spec(), aws.progress)
    aws.calls.clear()
    aws.platform.ensure_cluster(aws.spec([{**CPU, "instanceType": "m5.4xlarge"}]), aws.progress)
    assert aws.mutations() == []
    notes = [line for line in aws.lines if line.startswith("note:")]
    assert notes == [
        "note: node group gpu is in the cluster but not in the spec; kfdeploy leaves it "
        f"(`aws eks delete-nodegroup --cluster-name {aws.name} --nodegroup-name gpu` removes it)",
        "note: spec.platform.eks.cluster.nodeGroups[0].instanceType is ['m5.4xlarge'] but node "
        "group cpu has ['m5.2xlarge']; EKS cannot change that in place: add a node group with "
        "a new name and remove the old one"]


def test_version_mismatch_is_noted_not_upgraded(aws: Aws) -> None:
    aws.platform.ensure_cluster(aws.spec(), aws.progress)
    aws.calls.clear()
    aws.platform.ensure_cluster(aws.spec(version="1.34"), aws.progress)
    assert aws.mutations() == []
    assert any("runs Kubernetes 1.33 but the spec asks for 1.34" in line for line in aws.lines)


def test_given_subnets_are_used_and_never_deleted(aws: Aws) -> None:
    vpc = aws.ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnets = [aws.ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.0.{i}.0/24",
                                     AvailabilityZone=f"{REGION}{z}")["Subnet"]["SubnetId"]
               for i, z in enumerate("ab")]
    spec = aws.spec([CPU], subnets=subnets)
    aws.platform.ensure_cluster(spec, aws.progress)
    assert aws.calls.params("CreateCluster")[0]["resourcesVpcConfig"]["subnetIds"] == subnets
    assert aws.calls.params("CreateNodegroup")[0]["subnets"] == subnets
    assert not [op for op in aws.calls.ops() if op.startswith("ec2:Create")]
    aws.platform.delete_cluster(spec)
    assert len(aws.ec2.describe_subnets(SubnetIds=subnets)["Subnets"]) == 2


def test_interrupted_network_setup_resumes_without_duplicates(aws: Aws) -> None:
    ec2 = aws.platform.aws(REGION).ec2
    first = infra.ensure_network(ec2, aws.name, REGION, ["g5.xlarge"], aws.progress)
    aws.ec2.delete_subnet(SubnetId=first[1])
    aws.calls.clear()
    second = infra.ensure_network(ec2, aws.name, REGION, ["g5.xlarge"], aws.progress)
    assert [op for op in aws.mutations() if "Subnet" not in op and "RouteTable" not in op] == []
    assert aws.calls.ops("CreateSubnet") == ["ec2:CreateSubnet"]
    assert second[0] == first[0] and len(set(second)) == 2
    assert len(tagged_vpcs(aws.ec2, aws.name)) == 1


def test_empty_node_groups_take_platform_defaults(aws: Aws, tmp_path: Path) -> None:
    aws.platform.ensure_cluster(aws.spec([]), aws.progress)
    [group] = aws.calls.params("CreateNodegroup")
    assert (group["nodegroupName"], group["instanceTypes"], group["scalingConfig"]) == (
        "cpu", ["m5.2xlarge"], {"minSize": 1, "maxSize": 5, "desiredSize": 2})


def test_defaults_file_sets_version_and_groups(aws: Aws, tmp_path: Path) -> None:
    defaults = tmp_path / "eks.yaml"
    defaults.write_text(yaml.safe_dump({"kubernetesVersion": "1.32", "defaults": {"nodeGroups": [
        {"name": "gpu", "instanceTypes": ["p4d.24xlarge"], "scaling": {"min": 0, "max": 1}}]}}))
    platform = EksPlatform(aws.platform._session, kubeconfig_dir=tmp_path,
                           defaults_file=defaults, sleep=lambda _: None)
    platform.ensure_cluster(aws.spec([]), aws.progress)
    assert aws.calls.params("CreateCluster")[0]["version"] == "1.32"
    [group] = aws.calls.params("CreateNodegroup")
    assert (group["amiType"], group["scalingConfig"]) == (
        "AL2023_x86_64_NVIDIA", {"minSize": 0, "maxSize": 1, "desiredSize": 0})


def test_kubeconfig_has_endpoint_ca_and_token_exec(aws: Aws, tmp_path: Path) -> None:
    info = aws.platform.ensure_cluster(aws.spec([CPU]), aws.progress)
    described = aws.eks.describe_cluster(name=aws.name)["cluster"]
    assert info.kubeconfig == tmp_path / "kube" / f"kfdeploy-{aws.name}.yaml"
    assert stat.S_IMODE(info.kubeconfig.stat().st_mode) == 0o600
    config = yaml.safe_load(info.kubeconfig.read_text())
    assert config["current-context"] == f"eks-{aws.name}"
    assert config["clusters"] == [{"name": described["arn"], "cluster": {
        "server": described["endpoint"],
        "certificate-authority-data": described["certificateAuthority"]["data"]}}]
    assert config["contexts"] == [{"name": f"eks-{aws.name}", "context": {"cluster": described["arn"],
                                                                  "user": f"eks-{aws.name}"}}]
    plugin = config["users"][0]["user"]["exec"]
    assert plugin["apiVersion"] == "client.authentication.k8s.io/v1beta1"
    assert Path(plugin["command"]).is_absolute()
    assert plugin["args"] == ["-m", "kfdeploy.platforms.eks_token", "--cluster", aws.name,
                              "--region", REGION]
    assert "env" not in plugin
    info.kubeconfig.unlink()
    assert aws.platform.kubeconfig(aws.spec([CPU])) == info.kubeconfig
    assert yaml.safe_load(info.kubeconfig.read_text()) == config


def test_kubeconfig_exec_command_prints_an_exec_credential() -> None:
    """The plugin as kubectl runs it: signing is local, so no AWS endpoint is contacted."""
    env = {**os.environ, **FAKE_ENV, "AWS_EC2_METADATA_DISABLED": "true"}
    env.pop(ENDPOINT_ENV, None)
    args = ["-m", "kfdeploy.platforms.eks_token", "--cluster", aws.name, "--region", REGION]
    done = subprocess.run([os.path.abspath(sys.executable), *args], env=env,
                          capture_output=True, text=True, timeout=60, check=True)
    credential = json.loads(done.stdout)
    assert credential["kind"] == "ExecCredential"
    assert credential["apiVersion"] == "client.authentication.k8s.io/v1beta1"
    assert credential["status"]["token"].startswith("k8s-aws-v1.")


def test_delete_removes_what_kfdeploy_created(aws: Aws) -> None:
    spec = aws.spec(subnets=None)
    info = aws.platform.ensure_cluster(spec, aws.progress)
    vpc = tagged_vpcs(aws.ec2, aws.name)[0]["VpcId"]
    aws.platform.delete_cluster(spec, aws.progress)
    assert aws.name not in aws.eks.list_clusters()["clusters"]
    roles = [r["RoleName"] for r in aws.iam.list_roles()["Roles"]]
    assert not [r for r in roles if r.startswith(f"kfdeploy-{aws.name}")]
    assert tagged_vpcs(aws.ec2, aws.name) == []
    assert aws.ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["Subnets"] == []
    assert not info.kubeconfig.exists()
    assert aws.platform.describe(spec)["exists"] is False
    aws.platform.delete_cluster(spec, aws.progress)  # a second delete is not an error


def test_roles_kfdeploy_did_not_create_are_reused_and_kept(aws: Aws) -> None:
    aws.iam.create_role(RoleName=f"kfdeploy-{aws.name}-cluster", AssumeRolePolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                 "Principal": {"Service": "eks.amazonaws.com"}}]}))
    spec = aws.spec([CPU])
    aws.platform.ensure_cluster(spec, aws.progress)
    assert aws.calls.ops().count("iam:CreateRole") == 1  # the node role only
    assert attached(aws.iam, f"kfdeploy-{aws.name}-cluster") == ["AmazonEKSClusterPolicy"]
    aws.platform.delete_cluster(spec, aws.progress)
    assert aws.iam.get_role(RoleName=f"kfdeploy-{aws.name}-cluster")["Role"]
    assert (f"keeping IAM role kfdeploy-{aws.name}-cluster: kfdeploy did not create it "
            f"(no tag kfdeploy.io/cluster={aws.name})") in aws.lines


def test_describe_lists_node_groups(aws: Aws) -> None:
    spec = aws.spec()
    aws.platform.ensure_cluster(spec, aws.progress)
    data = aws.platform.describe(spec)
    assert (data["exists"], data["status"], data["version"]) == (True, "ACTIVE", "1.33")
    assert {g["name"]: g["amiType"] for g in data["nodeGroups"]} == {
        "cpu": "AL2023_x86_64_STANDARD", "gpu": "AL2023_x86_64_NVIDIA"}


def test_cli_kubeconfig_and_delete(aws: Aws, monkeypatch: pytest.MonkeyPatch,
                                   tmp_path: Path) -> None:
    """The click layer reaches this platform (get_platform is the lead's to wire up)."""
    from click.testing import CliRunner

    from kfdeploy.cli import cli
    from kfdeploy.workflow import cluster_verbs
    spec_file = tmp_path / "kfdef.yaml"
    spec_file.write_text(yaml.safe_dump(spec_data([CPU], subnets=FAKE_SUBNETS, name=aws.name)))
    aws.platform.ensure_cluster(aws.spec([CPU]), aws.progress)
    monkeypatch.setattr(cluster_verbs, "get_platform", lambda kind: aws.platform)
    shown = CliRunner().invoke(cli, ["cluster", "kubeconfig", "-f", str(spec_file)])
    assert shown.exit_code == 0, shown.output
    assert yaml.safe_load(shown.output)["current-context"] == f"eks-{aws.name}"
    deleted = CliRunner().invoke(cli, ["cluster", "delete", "-f", str(spec_file)])
    assert deleted.exit_code == 0, deleted.output
    assert f"cluster {aws.name} deleted" in deleted.output
    assert aws.name not in aws.eks.list_clusters()["clusters"]


# -- AWS errors in plain words ----------------------------------------------------------------

CLUSTER_ERRORS = [
    ("ResourceLimitExceededException", "Cluster limit exceeded for account.", {},
     "AWS quota reached while creating EKS cluster {name}: Cluster limit exceeded",
     "--service-code eks --region us-west-2"),
    ("UnsupportedAvailabilityZoneException", "Cannot create cluster because us-west-2d does "
     "not have sufficient capacity.", {"validZones": ["us-west-2a", "us-west-2b"]},
     "AWS has no capacity while creating EKS cluster {name}",
     "use subnets in these zones: us-west-2a, us-west-2b"),
    ("AccessDeniedException", "User: arn:aws:iam::123456789012:user/ci is not authorized to "
     "perform: iam:PassRole on resource: kfdeploy-{name}-cluster", {},
     "AWS denied iam:PassRole while creating EKS cluster {name}", "grant iam:PassRole"),
    ("AccessDeniedException", "Access denied", {},
     "AWS denied eks:CreateCluster while creating EKS cluster {name}", "grant eks:CreateCluster"),
    ("InvalidParameterException", "unsupported Kubernetes version 1.20", {},
     "AWS rejected spec.platform.eks.cluster.version while creating EKS cluster {name}",
     "fix spec.platform.eks.cluster.version"),
    ("InvalidParameterException", "Subnets specified must be in at least two different AZs", {},
     "AWS rejected spec.platform.eks.cluster.vpc.subnetIds", "fix spec.platform.eks.cluster.vpc"),
]


@pytest.mark.parametrize(("code", "message", "fields", "says", "hint"), CLUSTER_ERRORS,
                         ids=["quota", "zone-capacity", "denied-passrole", "denied-action",
                              "invalid-version", "invalid-subnets"])
def test_create_cluster_errors(aws: Aws, code: str, message: str, fields: dict[str, Any],
                               says: str, hint: str) -> None:
    eks = aws.platform.aws(REGION).eks
    with Stubber(eks) as stub:
        stub.add_client_error("describe_cluster", "ResourceNotFoundException", "No cluster found",
                              404)
        stub.add_client_error("create_cluster", code, message, 400, modeled_fields=fields)
        with pytest.raises(PlatformError) as err:
            aws.platform.ensure_cluster(aws.spec([CPU]), aws.progress)
    assert err.value.message.startswith(says.format(name=aws.name))
    assert hint.format(name=aws.name) in (err.value.hint or "")


def test_create_cluster_waits_for_a_new_role_to_propagate(aws: Aws) -> None:
    sleeps: list[float] = []
    platform = EksPlatform(aws.platform._session, sleep=sleeps.append, poll_interval=10)
    with Stubber(platform.aws(REGION).eks) as stub:
        stub.add_client_error("describe_cluster", "ResourceNotFoundException", "No cluster", 404)
        stub.add_client_error("create_cluster", "InvalidParameterException",
                              f"Role with arn: arn:aws:iam::123456789012:role/kfdeploy-{aws.name}"
                              "-cluster, could not be assumed because it does not exist or the "
                              "trusted entity is not correct", 400)
        stub.add_response("create_cluster", {})
        stub.add_client_error("describe_cluster", "ResourceNotFoundException", "No cluster", 404)
        with pytest.raises(PlatformError) as err:
            platform.ensure_cluster(aws.spec([CPU]), aws.progress)
    assert aws.calls.ops("CreateCluster") == ["eks:CreateCluster", "eks:CreateCluster"]
    assert sleeps == [10]
    assert err.value.message == f"EKS cluster {aws.name} is gone instead of ACTIVE"


def active_cluster(aws: Aws) -> dict[str, Any]:
    cluster = aws.eks.describe_cluster(name=aws.name)
    return {"cluster": {k: cluster["cluster"][k] for k in
                        ("name", "arn", "status", "version", "endpoint", "resourcesVpcConfig",
                         "certificateAuthority")}}


NODEGROUP_FAILURES = [
    ("AsgInstanceLaunchFailures", "Could not launch On-Demand Instances. "
     "InsufficientInstanceCapacity - We currently do not have sufficient g5.xlarge capacity "
     "in the Availability Zone you requested (us-west-2a).",
     "node group gpu is CREATE_FAILED: AWS has no capacity while creating node group gpu",
     ["other availability zones", "spec.platform.eks.cluster.nodeGroups[0].instanceType",
      "aws eks delete-nodegroup --cluster-name {name} --nodegroup-name gpu"]),
    ("AsgInstanceLaunchFailures", "Could not launch On-Demand Instances. VcpuLimitExceeded - "
     "You have requested more vCPU capacity than your current vCPU limit of 0 allows.",
     "node group gpu is CREATE_FAILED: AWS quota reached while creating node group gpu",
     ["'Running On-Demand G and VT instances' (vCPUs)", "--service-code ec2"]),
    ("NodeCreationFailure", "Instances failed to join the kubernetes cluster",
     "node group gpu is CREATE_FAILED: creating node group gpu failed: NodeCreationFailure",
     ["aws eks describe-nodegroup"]),
]


@pytest.mark.parametrize(("code", "message", "says", "hints"), NODEGROUP_FAILURES,
                         ids=["stock-out", "vcpu-quota", "join-failure"])
def test_failed_node_group_is_explained(aws: Aws, code: str, message: str, says: str,
                                        hints: list[str]) -> None:
    aws.platform.ensure_cluster(aws.spec([CPU]), aws.progress)
    cluster = active_cluster(aws)
    failed = {"nodegroup": {"nodegroupName": "gpu", "clusterName": aws.name,
                            "status": "CREATE_FAILED", "health": {"issues": [
                                {"code": code, "message": message}]}}}
    with Stubber(aws.platform.aws(REGION).eks) as stub:
        stub.add_response("describe_cluster", cluster)
        stub.add_response("describe_cluster", cluster)
        stub.add_response("list_nodegroups", {"nodegroups": []})
        stub.add_response("create_nodegroup", {})
        stub.add_response("describe_nodegroup", failed)
        with pytest.raises(PlatformError) as err:
            aws.platform.ensure_cluster(aws.spec([{**GPU, "name": "gpu"}]), aws.progress)
    assert err.value.message.startswith(says.format(name=aws.name))
    for hint in hints:
        assert hint.format(name=aws.name) in (err.value.hint or "")


def test_invalid_node_group_parameter_names_the_field(aws: Aws) -> None:
    aws.platform.ensure_cluster(aws.spec([CPU]), aws.progress)
    cluster = active_cluster(aws)
    with Stubber(aws.platform.aws(REGION).eks) as stub:
        stub.add_response("describe_cluster", cluster)
        stub.add_response("describe_cluster", cluster)
        stub.add_response("list_nodegroups", {"nodegroups": ["cpu"]})
        stub.add_response("describe_nodegroup", {"nodegroup": aws.eks.describe_nodegroup(
            clusterName=aws.name, nodegroupName="cpu")["nodegroup"]})
        stub.add_client_error("create_nodegroup", "InvalidParameterException",
                              "Instance type g5.bogus is not supported", 400)
        with pytest.raises(PlatformError) as err:
            aws.platform.ensure_cluster(aws.spec([CPU, {**GPU, "instanceType": "g5.bogus"}]),
                                        aws.progress)
    assert err.value.message == (
        "AWS rejected spec.platform.eks.cluster.nodeGroups[1].instanceType while creating node "
        "group gpu: Instance type g5.bogus is not supported")


def test_missing_credentials_are_named(moto_url: str, monkeypatch: pytest.MonkeyPatch,
                                       tmp_path: Path) -> None:
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv(ENDPOINT_ENV, moto_url)
    platform = EksPlatform(boto3.Session(region_name=REGION), kubeconfig_dir=tmp_path)
    with pytest.raises(PlatformError) as err:
        platform.ensure_cluster(eks_spec([CPU]), lambda _: None)
    assert err.value.message == "no AWS credentials found while looking up EKS cluster demo"
    assert "aws configure" in (err.value.hint or "")


# -- preflight: offerings ----------------------------------------------------------------------

def offered_zones(ec2: Any, itype: str) -> set[str]:
    found = ec2.describe_instance_type_offerings(LocationType="availability-zone",
                                                 Filters=[{"Name": "instance-type", "Values": [itype]}])
    return {o["Location"] for o in found["InstanceTypeOfferings"]}


def subnets_in(ec2: Any, zones: list[str]) -> list[str]:
    vpc = ec2.create_vpc(CidrBlock="10.1.0.0/16")["Vpc"]["VpcId"]
    return [ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.1.{i}.0/24", AvailabilityZone=z)["Subnet"]["SubnetId"]
            for i, z in enumerate(zones)]


def test_preflight_instance_types_against_the_subnets_zones(aws: Aws) -> None:
    gpu_zones = offered_zones(aws.ec2, GPU["instanceType"])
    all_zones = {z["ZoneName"] for z in aws.ec2.describe_availability_zones()["AvailabilityZones"]}
    lacking = sorted(all_zones - gpu_zones)
    assert gpu_zones and lacking, "moto's offerings data changed: pick another instance type"
    good = aws.spec([CPU, GPU], subnets=subnets_in(aws.ec2, sorted(gpu_zones)[:2]))
    findings = aws.platform.preflight(good)
    assert not [f for f in findings if f.status == "FAIL"]
    assert {f.object for f in findings if f.status == "OK"} >= {"node group gpu: instance type g5.xlarge"}
    # moto does not serve DescribeClusterVersions: the version check says it could not answer.
    version = next(f for f in findings if f.object.startswith("EKS Kubernetes"))
    assert version.status == "WARN" and "cannot list" in version.message

    bad = aws.spec([GPU], subnets=subnets_in(aws.ec2, [sorted(gpu_zones)[0], lacking[0]]))
    failed = [f for f in aws.platform.preflight(bad) if f.status == "FAIL"]
    assert [f.object for f in failed] == ["node group gpu: instance type g5.xlarge"]
    assert lacking[0] in failed[0].message
    assert not aws.mutations()  # checking created nothing


def test_preflight_instance_type_offered_nowhere_fails(aws: Aws) -> None:
    nowhere = {**CPU, "name": "odd", "instanceType": "m5.24xlarge-nope"}
    failed = [f for f in aws.platform.preflight(aws.spec([nowhere], subnets=None)) if f.status == "FAIL"]
    assert [f.object for f in failed] == ["node group odd: instance type m5.24xlarge-nope"]
    assert REGION in failed[0].message
