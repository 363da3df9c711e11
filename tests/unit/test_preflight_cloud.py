"""The cloud pre-flight checks against the local clouds: the GKE fake (server config, Compute
Engine zones) and moto's EC2 instance-type offerings; plus the pure decisions they share."""

# ruff: noqa: F401, F811 (pytest fixtures are imported from fakes.gke_testing, used as parameters)
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fakes.gke_server import FakeGke
from fakes.gke_testing import CPU, GPU, Clock, clock, fake, gke_spec, platform, run

from kfdeploy.platforms import cloud_offers
from kfdeploy.platforms.gke import COMPUTE_ENDPOINT_ENV, GkePlatform
from kfdeploy.spec import parse_spec


@pytest.fixture(autouse=True)
def compute_endpoint(fake: FakeGke, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(COMPUTE_ENDPOINT_ENV, fake.url)


def by_status(findings: list[Any], status: str) -> list[Any]:
    return [f for f in findings if f.status == status]


def test_offered_pools_and_version_pass(platform: GkePlatform, fake: FakeGke, tmp_path: Path) -> None:
    findings = platform.preflight(gke_spec(tmp_path, [CPU, GPU], version="1.33"))
    assert not by_status(findings, "FAIL") and not by_status(findings, "WARN")
    assert {f.object for f in findings} >= {"GKE Kubernetes 1.33", "node pool gpu: accelerator nvidia-tesla-t4",
                                            "node pool gpu: machine type n1-standard-8"}
    assert not fake.calls("create_cluster")  # checking creates nothing


def test_accelerator_missing_in_the_zone_fails(platform: GkePlatform, fake: FakeGke, tmp_path: Path) -> None:
    gpu = {**GPU, "accelerators": [{"type": "nvidia-h100-80gb", "count": 8}]}
    failed = by_status(platform.preflight(gke_spec(tmp_path, [CPU, gpu])), "FAIL")
    assert [f.object for f in failed] == ["node pool gpu: accelerator nvidia-h100-80gb"]
    assert "us-central1-a" in failed[0].message and failed[0].fix


def test_machine_type_and_version_not_offered_fail(platform: GkePlatform, fake: FakeGke, tmp_path: Path) -> None:
    big = {**CPU, "machineType": "a3-megagpu-8g"}
    failed = by_status(platform.preflight(gke_spec(tmp_path, [big], version="1.29")), "FAIL")
    assert {f.object for f in failed} == {"GKE Kubernetes 1.29", "node pool cpu: machine type a3-megagpu-8g"}
    version = next(f for f in failed if f.object.startswith("GKE"))
    assert "1.31, 1.32, 1.33" in version.message


def regional_spec(tmp_path: Path, pools: list[dict[str, Any]]) -> Any:
    data = {"apiVersion": "kfdef.apps.kubeflow.org/v1", "kind": "KfDef", "metadata": {"name": "demo"},
            "spec": {"platform": {"kind": "gke", "gke": {"project": "proj-1", "location": "us-central1",
                                                         "cluster": {"nodePools": pools}}}}}
    return parse_spec(data, "kfdef.yaml", tmp_path)


def test_regional_location_checks_every_zone(platform: GkePlatform, fake: FakeGke, tmp_path: Path) -> None:
    l4 = {**GPU, "accelerators": [{"type": "nvidia-l4", "count": 1}]}
    findings = platform.preflight(regional_spec(tmp_path, [CPU, l4]))
    warned = by_status(findings, "WARN")
    assert [f.object for f in warned] == ["node pool gpu: accelerator nvidia-l4"]
    assert "us-central1-c" in warned[0].message and "us-central1-a" in warned[0].message
    fake.offers["us-central1-a"]["accelerators"].discard("nvidia-l4")
    fake.offers["us-central1-b"]["accelerators"].discard("nvidia-l4")
    assert [f.object for f in by_status(platform.preflight(regional_spec(tmp_path, [CPU, l4])), "FAIL")] == [
        "node pool gpu: accelerator nvidia-l4"]


def test_existing_cluster_checks_only_pools_to_create(platform: GkePlatform, fake: FakeGke, tmp_path: Path,
                                                      clock: Clock) -> None:
    run(platform, gke_spec(tmp_path, [CPU]))
    fake.versions[:] = ["1.34.1-gke.100"]  # the running cluster's version is no longer offered
    gpu = {**GPU, "accelerators": [{"type": "nvidia-h100-80gb", "count": 8}]}
    findings = platform.preflight(gke_spec(tmp_path, [CPU, gpu]))
    assert not any(f.object.startswith("GKE Kubernetes") for f in findings)
    assert [f.object for f in by_status(findings, "FAIL")] == ["node pool gpu: accelerator nvidia-h100-80gb"]
    assert not any("node pool cpu" in f.object for f in findings)


def test_compute_api_refusal_is_reported_with_the_permission(platform: GkePlatform, fake: FakeGke,
                                                            tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from kfdeploy.errors import PlatformError
    fake.fail("get_machine_type", 403, "PERMISSION_DENIED", "Required 'compute.machineTypes.get' permission")
    with pytest.raises(PlatformError, match="Compute Engine API.*403") as refused:
        platform.preflight(gke_spec(tmp_path, [CPU]))
    assert refused.value.hint and "compute.viewer" in refused.value.hint


VERSIONS = [("1.33", ["1.33.5-gke.1200"], True), ("1.33", ["1.3.1", "1.330.0"], False), ("1.30", ["1.30"], True),
            ("", [], True), ("1.29", ["1.29-eks-1"], True)]


@pytest.mark.parametrize("wanted,offered,ok", VERSIONS)
def test_version_offered(wanted: str, offered: list[str], ok: bool) -> None:
    assert (cloud_offers.version_finding("X", "here", wanted, offered).status == "OK") is ok
