"""Every GKE API failure the gke platform maps, injected into the local fake: the PlatformError
names what failed and the hint says how to fix it."""

# ruff: noqa: F401, F811 (pytest fixtures are imported from fakes.gke_testing, used as parameters)
from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import pytest
from fakes.gke_server import FakeGke
from fakes.gke_testing import CPU, GPU, clock, fake, gke_spec, platform, run
from google.auth.credentials import AnonymousCredentials

from kfdeploy.errors import PlatformError
from kfdeploy.platforms.gke import GkePlatform, default_credentials
from kfdeploy.platforms.gke_errors import Context, Failure, field_for, to_platform_error
from kfdeploy.platforms.gke_model import Target

QUOTA_T4 = ("Insufficient regional quota to satisfy request: resource \"NVIDIA_T4_GPUS\": request "
            "requires '8.0' and is short '4.0'. project has a quota of '4.0' with '4.0' available.")
STOCKOUT = ("Google Compute Engine: Not all instances running in IGM after 35m. Instance "
            "gke-demo-gpu-1: ZONE_RESOURCE_POOL_EXHAUSTED: The zone 'projects/proj-1/zones/"
            "us-central1-a' does not have enough resources available to fulfill the request.")


class Case(NamedTuple):
    method: str
    http: int
    status: str
    message: str
    expected: str
    hint: str
    reason: str | None = None


HTTP_CASES = {
    "permission-denied-get": Case(
        "get_cluster", 403, "PERMISSION_DENIED",
        'Required "container.clusters.get" permission(s) for "projects/proj-1".',
        "permission denied while looking up GKE cluster demo: the Google Cloud account lacks "
        "container.clusters.get in project proj-1",
        "--role=roles/container.admin"),
    "permission-denied-create": Case(
        "create_cluster", 403, "PERMISSION_DENIED",
        'Required "container.clusters.create" permission(s) for "projects/proj-1".',
        "lacks container.clusters.create in project proj-1", "gcloud projects add-iam-policy-binding"),
    "quota-429": Case(
        "create_cluster", 429, "RESOURCE_EXHAUSTED", QUOTA_T4,
        "quota exceeded while creating GKE cluster demo: NVIDIA_T4_GPUS in region us-central1 of "
        "project proj-1 is too low",
        "request more NVIDIA_T4_GPUS quota at https://console.cloud.google.com/iam-admin/quotas"
        "?project=proj-1"),
    "quota-as-403": Case(
        "create_cluster", 403, "PERMISSION_DENIED", QUOTA_T4,
        "quota exceeded while creating GKE cluster demo: NVIDIA_T4_GPUS", "autoscaling.min"),
    "stockout-http": Case(
        "create_cluster", 503, "UNAVAILABLE", STOCKOUT,
        "us-central1-a has no capacity right now for e2-standard-8, n1-standard-8, nvidia-tesla-t4",
        "set spec.platform.gke.location to another zone that offers them (GPU zones: "
        "https://cloud.google.com/compute/docs/gpus/gpu-regions-zones)"),
    "invalid-accelerator": Case(
        "create_cluster", 400, "INVALID_ARGUMENT",
        'Accelerator type "nvidia-tesla-t4" does not exist in zone us-central1-a.',
        "GKE rejected spec.platform.gke.cluster.nodePools[1].accelerators[0].type while creating",
        "fix spec.platform.gke.cluster.nodePools[1].accelerators[0].type in the spec"),
    "invalid-version": Case(
        "create_cluster", 400, "INVALID_ARGUMENT", 'Master version "1.99" is unsupported.',
        "GKE rejected spec.platform.gke.cluster.version", "fix spec.platform.gke.cluster.version"),
    "api-disabled": Case(
        "get_cluster", 403, "PERMISSION_DENIED",
        "Kubernetes Engine API has not been used in project 123 before or it is disabled.",
        "the Kubernetes Engine API is not enabled in project proj-1",
        "gcloud services enable container.googleapis.com --project proj-1", "SERVICE_DISABLED"),
    "unauthenticated-unrefreshable": Case(
        "get_cluster", 401, "UNAUTHENTICATED", "Request had invalid authentication credentials.",
        "Google Cloud credentials failed while looking up GKE cluster demo",
        "gcloud auth application-default login"),
    "internal": Case(
        "create_cluster", 500, "INTERNAL", "Internal error.",
        "GKE API error while creating GKE cluster demo (INTERNAL): Internal error.",
        "https://status.cloud.google.com"),
}


@pytest.mark.parametrize("case", HTTP_CASES.values(), ids=HTTP_CASES.keys())
def test_http_errors_read_plainly(platform: GkePlatform, fake: FakeGke, tmp_path: Path,
                                  case: Case) -> None:
    fake.fail(case.method, case.http, case.status, case.message, case.reason)
    with pytest.raises(PlatformError) as err:
        run(platform, gke_spec(tmp_path, [CPU, GPU]))
    assert case.expected in err.value.message
    assert case.hint in (err.value.hint or "")
    assert "POST http" not in err.value.message and "GET http" not in err.value.message


OPERATION_CASES = {
    "stockout-cluster": ("create_cluster", 8, STOCKOUT, "us-central1-a has no capacity right now",
                         "the failed cluster stays in state ERROR: remove it with `kfdeploy "
                         "cluster delete` before re-running"),
    "quota-node-pool": ("create_node_pool", 8, QUOTA_T4, "quota exceeded while creating node pool "
                        "gpu: NVIDIA_T4_GPUS", "IAM & Admin > Quotas"),
    "busy": ("set_node_pool_autoscaling", 9, "Cluster is running incompatible operation "
             "operation-17.", "cluster demo is busy with another operation",
             "gcloud container operations list --location us-central1-a --project proj-1"),
}


@pytest.mark.parametrize(("method", "code", "message", "expected", "hint"),
                         OPERATION_CASES.values(), ids=OPERATION_CASES.keys())
def test_failed_operations_read_plainly(platform: GkePlatform, fake: FakeGke, tmp_path: Path,
                                        method: str, code: int, message: str, expected: str,
                                        hint: str) -> None:
    if method != "create_cluster":
        run(platform, gke_spec(tmp_path, [CPU]))
    fake.fail_operation(method, code, message)
    wider = {**CPU, "autoscaling": {"min": 1, "max": 9}}
    with pytest.raises(PlatformError) as err:
        run(platform, gke_spec(tmp_path, [wider, GPU]))
    assert expected in err.value.message
    assert message in err.value.message
    assert hint in (err.value.hint or "")


def test_unauthenticated_after_refresh(tmp_path: Path) -> None:
    """Credentials that refresh but are still refused (a revoked login) reach this rule."""
    settings = gke_spec(tmp_path, [CPU]).spec.platform.gke
    assert settings is not None
    ctx = Context(Target("proj-1", "us-central1-a", "demo"), settings, "reading GKE cluster demo",
                  "get")
    error = to_platform_error(Failure("UNAUTHENTICATED", "Request had invalid credentials."), ctx)
    assert error.message == ("Google Cloud rejected the credentials while reading GKE cluster "
                             "demo: Request had invalid credentials.")
    assert error.hint == "log in again: `gcloud auth application-default login`"


def test_unreachable_api_names_the_endpoint(tmp_path: Path) -> None:
    gone = GkePlatform(AnonymousCredentials, endpoint="http://127.0.0.1:9", kube_dir=tmp_path)
    with pytest.raises(PlatformError, match="cannot reach the GKE API at http://127.0.0.1:9 "
                                            "while looking up GKE cluster demo"):
        gone.describe(gke_spec(tmp_path, [CPU]))


def test_missing_credentials_say_how_to_log_in(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(tmp_path / "absent-key.json"))
    with pytest.raises(PlatformError, match="no Google Cloud credentials found") as err:
        default_credentials()
    assert "gcloud auth application-default login" in (err.value.hint or "")


@pytest.mark.parametrize(("message", "field"), [
    ("Invalid machine type n1-standard-8 in zone", "spec.platform.gke.cluster.nodePools[1].machineType"),
    ("accelerator NVIDIA-TESLA-T4 not allowed", "spec.platform.gke.cluster.nodePools[1].accelerators[0].type"),
    ("Node version 1.20 is not valid", "spec.platform.gke.cluster.version"),
    ("Location us-east9 is not found", "spec.platform.gke.location"),
    ("something else entirely", "spec.platform.gke"),
], ids=["machine-type", "accelerator-any-case", "version", "location", "fallback"])
def test_field_for_names_the_spec_value_the_message_mentions(tmp_path: Path, message: str,
                                                             field: str) -> None:
    settings = gke_spec(tmp_path, [CPU, GPU]).spec.platform.gke
    assert settings is not None
    assert field_for(message, settings) == field


@pytest.mark.parametrize(("location", "region"), [
    ("us-central1-a", "us-central1"), ("us-central1", "us-central1"),
    ("europe-west4-b", "europe-west4"), ("asia-northeast1", "asia-northeast1"),
], ids=["zone", "region", "eu-zone", "asia-region"])
def test_quota_region_of_a_location(location: str, region: str) -> None:
    assert Target("p", location, "c").region == region
