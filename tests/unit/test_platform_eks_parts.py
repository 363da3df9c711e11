"""The EKS platform's pure parts: AMI choice, node group diffs, zone choice, role names, the
STS token, and how AWS messages become spec field paths and quota names."""

from __future__ import annotations

import base64
import json
import urllib.parse
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest

from kfdeploy.errors import PlatformError
from kfdeploy.platforms.eks import eks_settings
from kfdeploy.platforms.eks_errors import instance_quota, quota_service, spec_field
from kfdeploy.platforms.eks_infra import pick_zones, role_name
from kfdeploy.platforms.eks_nodegroups import (
    NodeGroupPlan,
    ami_type_for,
    config_update,
    desired_size,
    immutable_drift,
    plan_from_defaults,
    plan_from_spec,
)
from kfdeploy.platforms.eks_token import (
    ENDPOINT_ENV,
    exec_credential,
    get_token,
    main,
    requested_api_version,
    token_from_url,
)
from kfdeploy.poll import Poller
from kfdeploy.spec import parse_spec


@pytest.mark.parametrize(("instance", "ami"), [
    ("g4dn.xlarge", "AL2023_x86_64_NVIDIA"), ("g5.12xlarge", "AL2023_x86_64_NVIDIA"),
    ("g6e.2xlarge", "AL2023_x86_64_NVIDIA"), ("p3.2xlarge", "AL2023_x86_64_NVIDIA"),
    ("p4d.24xlarge", "AL2023_x86_64_NVIDIA"), ("p5.48xlarge", "AL2023_x86_64_NVIDIA"),
    ("g5g.xlarge", "AL2023_ARM_64_NVIDIA"), ("g4ad.xlarge", "AL2023_x86_64_STANDARD"),
    ("inf2.xlarge", "AL2023_x86_64_NEURON"), ("trn1.2xlarge", "AL2023_x86_64_NEURON"),
    ("m7g.large", "AL2023_ARM_64_STANDARD"), ("c6gn.xlarge", "AL2023_ARM_64_STANDARD"),
    ("m5.2xlarge", "AL2023_x86_64_STANDARD"), ("c7i.large", "AL2023_x86_64_STANDARD"),
], ids=lambda v: v if "." in v else None)
def test_ami_type_for(instance: str, ami: str) -> None:
    assert ami_type_for(instance) == ami


def groups_of(groups: list[dict[str, Any]]) -> list[NodeGroupPlan]:
    data = {"apiVersion": "kfdef.apps.kubeflow.org/v1", "kind": "KfDef", "metadata": {"name": "x"},
            "spec": {"platform": {"kind": "eks", "eks": {"region": "us-east-1",
                                                         "cluster": {"nodeGroups": groups}}}}}
    spec = parse_spec(data, "kfdef.yaml", Path("."))
    return [plan_from_spec(g, i) for i, g in enumerate(eks_settings(spec).cluster.node_groups)]


def test_plan_from_spec_disk_ami_and_field() -> None:
    gpu, cpu, own = groups_of([
        {"name": "gpu", "instanceType": "g5.xlarge"},
        {"name": "cpu", "instanceType": "m5.large", "taints": [
            {"key": "a", "effect": "PreferNoSchedule"}]},
        {"name": "own", "instanceType": "g5.xlarge", "amiType": "BOTTLEROCKET_x86_64_NVIDIA",
         "diskSizeGb": 300}])
    assert (gpu.ami_type, gpu.disk_size, gpu.field) == (
        "AL2023_x86_64_NVIDIA", 100, "spec.platform.eks.cluster.nodeGroups[0]")
    assert (cpu.ami_type, cpu.disk_size, cpu.taints) == (
        "AL2023_x86_64_STANDARD", 50, (("a", "", "PREFER_NO_SCHEDULE"),))
    assert (own.ami_type, own.disk_size) == ("BOTTLEROCKET_x86_64_NVIDIA", 300)


def test_malformed_defaults_name_the_file() -> None:
    with pytest.raises(PlatformError) as err:
        plan_from_defaults({"instanceTypes": ["m5.large"]}, 0, "platforms/eks.yaml")
    assert err.value.message.startswith("platforms/eks.yaml: defaults.nodeGroups[0] is malformed")


def plan(**changes: Any) -> NodeGroupPlan:
    base: dict[str, Any] = dict(name="gpu", instance_types=("g5.xlarge",), min=0, max=4,
                                desired=None, ami_type="AL2023_x86_64_NVIDIA", disk_size=100,
                                labels={"a": "1"}, taints=(("nvidia.com/gpu", "", "NO_SCHEDULE"),))
    return NodeGroupPlan(**{**base, **changes})


LIVE = {"scalingConfig": {"minSize": 0, "maxSize": 4, "desiredSize": 3}, "labels": {"a": "1"},
        "taints": [{"key": "nvidia.com/gpu", "value": "", "effect": "NO_SCHEDULE"}],
        "instanceTypes": ["g5.xlarge"], "amiType": "AL2023_x86_64_NVIDIA", "diskSize": 100}


@pytest.mark.parametrize(("wanted", "update"), [
    (plan(), {}),
    (plan(max=2), {"scalingConfig": {"minSize": 0, "maxSize": 2, "desiredSize": 2}}),
    (plan(min=1, desired=1), {"scalingConfig": {"minSize": 1, "maxSize": 4, "desiredSize": 1}}),
    (plan(labels={"b": "2"}), {"labels": {"addOrUpdateLabels": {"b": "2"}, "removeLabels": ["a"]}}),
    (plan(taints=(("nvidia.com/gpu", "present", "NO_SCHEDULE"),)), {"taints": {
        "addOrUpdateTaints": [{"key": "nvidia.com/gpu", "value": "present",
                               "effect": "NO_SCHEDULE"}]}}),
    (plan(taints=()), {"taints": {"removeTaints": [
        {"key": "nvidia.com/gpu", "value": "", "effect": "NO_SCHEDULE"}]}}),
], ids=["same", "max-lowered-clamps-desired", "explicit-desired", "labels", "taint-value",
        "taint-removed"])
def test_config_update(wanted: NodeGroupPlan, update: dict[str, Any]) -> None:
    assert config_update(wanted, LIVE) == update


@pytest.mark.parametrize(("wanted", "current", "size"), [
    (plan(desired=2), 3, 2), (plan(min=1, max=5), None, 1), (plan(min=0), None, 0),
    (plan(min=1, max=2), 3, 2), (plan(min=2, max=6), 1, 2), (plan(min=0, max=6), 4, 4),
], ids=["spec-desired", "new-starts-at-min", "new-scale-to-zero", "current-above-max",
        "current-below-min", "autoscaler-choice-kept"])
def test_desired_size(wanted: NodeGroupPlan, current: int | None, size: int) -> None:
    assert desired_size(wanted, current) == size


def test_immutable_drift_names_field_and_values() -> None:
    wanted = plan(instance_types=("g6.xlarge",), disk_size=200,
                  field="spec.platform.eks.cluster.nodeGroups[1]")
    assert immutable_drift(wanted, LIVE) == [
        "spec.platform.eks.cluster.nodeGroups[1].instanceType is ['g6.xlarge'] but node group "
        "gpu has ['g5.xlarge']",
        "spec.platform.eks.cluster.nodeGroups[1].diskSizeGb is 200 but node group gpu has 100"]


ZONES = [{"ZoneName": f"us-east-1{z}", "ZoneId": f"use1-az{i}", "State": "available",
          "ZoneType": "availability-zone"} for i, z in enumerate("abcde", start=1)]


@pytest.mark.parametrize(("offered", "types", "picked"), [
    ({}, [], ["us-east-1a", "us-east-1b"]),
    ({"p5.48xlarge": {"us-east-1d", "us-east-1e"}}, ["p5.48xlarge"], ["us-east-1d", "us-east-1e"]),
    ({"g5.xlarge": {"us-east-1b"}, "m5.large": {"us-east-1a", "us-east-1b"}},
     ["g5.xlarge", "m5.large"], ["us-east-1b", "us-east-1a"]),
    ({"g5.xlarge": {"us-east-1d"}}, ["g5.xlarge"], ["us-east-1d", "us-east-1a"]),
], ids=["first-two", "zones-offering-gpu", "offering-all-first", "one-offering-then-others"])
def test_pick_zones(offered: dict[str, set[str]], types: list[str], picked: list[str]) -> None:
    assert pick_zones(ZONES, offered, types, "us-east-1") == picked


def test_pick_zones_skips_zones_eks_cannot_use() -> None:
    assert "us-east-1c" not in pick_zones(ZONES, {"g5.xlarge": {"us-east-1c", "us-east-1d",
                                                                "us-east-1e"}},
                                          ["g5.xlarge"], "us-east-1")  # use1-az3


def test_instance_type_offered_nowhere_is_an_error() -> None:
    with pytest.raises(PlatformError) as err:
        pick_zones(ZONES, {"p5.48xlarge": set()}, ["p5.48xlarge"], "us-east-1")
    assert err.value.message == "instance type p5.48xlarge is not offered in any zone of region us-east-1"


def test_role_names_fit_iam() -> None:
    assert role_name("demo", "cluster") == "kfdeploy-demo-cluster"
    long_a, long_b = "a" * 60 + "-one", "a" * 60 + "-two"
    names = {role_name(n, "cluster") for n in (long_a, long_b)}
    assert len(names) == 2 and all(len(n) <= 64 for n in names)


class FakeTime:
    """A clock that moves only when the code under test sleeps."""

    def __init__(self) -> None:
        self.now = 0.0

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_poller_reports_elapsed_time_until_done() -> None:
    time, lines = FakeTime(), list[str]()
    states = iter(["CREATING", "CREATING", "ACTIVE"])
    poller = Poller(time.sleep, lambda: time.now, 15)
    assert poller.until(lambda: next(states), lambda s: s == "ACTIVE", "creating node group gpu",
                        600, lines.append) == "ACTIVE"
    assert lines == ["creating node group gpu ... 0s", "creating node group gpu ... 15s"]


def test_poller_gives_up_after_the_timeout() -> None:
    time = FakeTime()
    poller = Poller(time.sleep, lambda: time.now, 60)
    with pytest.raises(PlatformError) as err:
        poller.until(lambda: "CREATING", lambda s: s == "ACTIVE", "creating EKS cluster demo",
                     600, lambda _: None)
    assert err.value.message == "creating EKS cluster demo: not done after 10 minutes"


def test_poller_retries_only_transient_errors() -> None:
    time, attempts = FakeTime(), list[float]()

    def call() -> str:
        attempts.append(time.now)
        if len(attempts) < 3:
            raise PlatformError("role could not be assumed")
        return "ok"

    poller = Poller(time.sleep, lambda: time.now, 10)
    assert poller.retry(call, lambda e: "assumed" in e.message, 120) == "ok"
    assert attempts == [0, 10, 20]
    with pytest.raises(PlatformError):
        poller.retry(lambda: (_ for _ in ()).throw(PlatformError("denied")),
                     lambda e: "assumed" in e.message, 120)
    assert time.now == 20  # a permanent error is raised at once


# -- the token ----------------------------------------------------------------------------------

def decode(token: str) -> str:
    body = token.removeprefix("k8s-aws-v1.")
    return base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)).decode()


@pytest.mark.parametrize("url", ["a", "ab", "abc", "https://sts.amazonaws.com/?x=1&y=2"])
def test_token_from_url_is_unpadded_urlsafe_base64(url: str) -> None:
    token = token_from_url(url)
    assert token.startswith("k8s-aws-v1.") and "=" not in token and "+" not in token
    assert decode(token) == url


@pytest.fixture
def fake_credentials(monkeypatch: pytest.MonkeyPatch) -> boto3.Session:
    monkeypatch.delenv(ENDPOINT_ENV, raising=False)
    for key, value in {"AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": "secret",
                       "AWS_EC2_METADATA_DISABLED": "true"}.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    return boto3.Session(aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="secret")


def test_token_is_a_presigned_get_caller_identity_bound_to_the_cluster(
        fake_credentials: boto3.Session) -> None:
    url = urllib.parse.urlsplit(decode(get_token(fake_credentials, "demo", "eu-west-1")))
    query = urllib.parse.parse_qs(url.query)
    assert (url.scheme, url.netloc) == ("https", "sts.eu-west-1.amazonaws.com")
    assert query["Action"] == ["GetCallerIdentity"] and query["Version"] == ["2011-06-15"]
    assert query["X-Amz-Expires"] == ["60"]
    assert query["X-Amz-SignedHeaders"] == ["host;x-k8s-aws-id"]
    assert query["X-Amz-Credential"][0].startswith("AKIDEXAMPLE/")
    assert "demo" not in url.query  # the cluster travels in the signed header, not the URL
    other = urllib.parse.parse_qs(urllib.parse.urlsplit(
        decode(get_token(fake_credentials, "other", "eu-west-1"))).query)
    assert other["X-Amz-Signature"] != query["X-Amz-Signature"]


def test_exec_credential_expires_in_14_minutes() -> None:
    now = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert exec_credential("k8s-aws-v1.abc", now) == {
        "kind": "ExecCredential", "apiVersion": "client.authentication.k8s.io/v1beta1",
        "spec": {}, "status": {"expirationTimestamp": "2026-01-02T03:18:05Z",
                               "token": "k8s-aws-v1.abc"}}


@pytest.mark.parametrize(("env", "version"), [
    ({}, "client.authentication.k8s.io/v1beta1"),
    ({"KUBERNETES_EXEC_INFO": '{"apiVersion": "client.authentication.k8s.io/v1"}'},
     "client.authentication.k8s.io/v1"),
    ({"KUBERNETES_EXEC_INFO": "not json"}, "client.authentication.k8s.io/v1beta1"),
], ids=["unset", "kubectl-asks-v1", "garbage"])
def test_requested_api_version(env: dict[str, str], version: str) -> None:
    assert requested_api_version(env) == version


def test_main_prints_an_exec_credential(fake_credentials: boto3.Session,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--cluster", "demo", "--region", "us-west-2"]) == 0
    credential = json.loads(capsys.readouterr().out)
    assert credential["status"]["token"].startswith("k8s-aws-v1.")
    assert "x-k8s-aws-id" in decode(credential["status"]["token"])


# -- messages --------------------------------------------------------------------------------

NG = "spec.platform.eks.cluster.nodeGroups[2]"


@pytest.mark.parametrize(("base", "message", "code", "field"), [
    (NG, "Instance type p9.huge is not supported", "InvalidParameterException",
     f"{NG}.instanceType"),
    (NG, "Requested AMI type is invalid for amiType", "InvalidParameterException", f"{NG}.amiType"),
    (NG, "desiredSize can't be greater than maxSize", "InvalidParameterException",
     f"{NG}.scaling.desired"),
    (NG, "something else", "InvalidParameterException", NG),
    ("spec.platform.eks.cluster", "unsupported Kubernetes version 1.20",
     "InvalidParameterException", "spec.platform.eks.cluster.version"),
    (NG, "The subnet ID 'subnet-1' does not exist", "InvalidSubnetID.NotFound",
     "spec.platform.eks.cluster.vpc.subnetIds"),
    (None, "bad", "ValidationError", "spec.platform.eks.cluster"),
], ids=["instance-type", "ami-type", "desired", "node-group", "version", "subnet", "unknown"])
def test_spec_field(base: str | None, message: str, code: str, field: str) -> None:
    assert spec_field(base, message, code) == field


@pytest.mark.parametrize(("types", "quota"), [
    (["g5.xlarge"], "G and VT"), (["p4d.24xlarge"], "P"), (["inf2.xlarge"], "Inf"),
    (["trn1.2xlarge"], "Trn"), (["m5.large"], "Standard (A, C, D, H, I, M, R, T, Z)"),
], ids=["g", "p", "inf", "trn", "standard"])
def test_instance_quota(types: list[str], quota: str) -> None:
    assert instance_quota(types) == f"'Running On-Demand {quota} instances' (vCPUs)"


@pytest.mark.parametrize(("service", "operation", "code"), [
    ("ec2", "CreateVpc", "vpc"), ("ec2", "CreateSubnet", "vpc"), ("ec2", "RunInstances", "ec2"),
    ("eks", "CreateCluster", "eks"), ("iam", "CreateRole", "iam"),
], ids=["vpc", "subnet", "instances", "eks", "iam"])
def test_quota_service(service: str, operation: str, code: str) -> None:
    assert quota_service(service, operation) == code
