"""Fixtures shared by the gke platform tests: a served fake GKE API, a clock that moves only
when the code sleeps, and a spec builder."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fakes.gke_server import FakeGke, GkeServer
from google.auth.credentials import AnonymousCredentials

from kfdeploy.platforms.gke import ENDPOINT_ENV, GkePlatform
from kfdeploy.spec import KfDef, parse_spec

PARENT = "projects/proj-1/locations/us-central1-a"
CLUSTER = f"{PARENT}/clusters/demo"
CPU = {"name": "cpu", "machineType": "e2-standard-8", "autoscaling": {"min": 1, "max": 5}}
GPU = {"name": "gpu", "machineType": "n1-standard-8", "diskSizeGb": 200, "spot": True,
       "accelerators": [{"type": "nvidia-tesla-t4", "count": 2, "driverVersion": "latest"}],
       "autoscaling": {"min": 0, "max": 4}, "labels": {"pool": "gpu"},
       "taints": [{"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"}]}


class Clock:
    """A clock that moves only when the code under test sleeps."""

    def __init__(self) -> None:
        self.now = 0.0

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def gke_spec(tmp_path: Path, pools: list[dict[str, Any]], version: str | None = None) -> KfDef:
    cluster: dict[str, Any] = {"nodePools": pools}
    if version:
        cluster["version"] = version
    data = {"apiVersion": "kfdef.apps.kubeflow.org/v1", "kind": "KfDef",
            "metadata": {"name": "demo"},
            "spec": {"platform": {"kind": "gke", "gke": {
                "project": "proj-1", "location": "us-central1-a", "cluster": cluster}}}}
    return parse_spec(data, "kfdef.yaml", tmp_path)


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeGke]:
    with GkeServer() as served:
        monkeypatch.setenv(ENDPOINT_ENV, served.url)
        yield served


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def platform(fake: FakeGke, tmp_path: Path, clock: Clock) -> GkePlatform:
    return GkePlatform(AnonymousCredentials, kube_dir=tmp_path / "kube", poll_interval=10,
                       sleep=clock.sleep, clock=lambda: clock.now, which=lambda _: "/bin/plugin")


def run(platform: GkePlatform, spec: KfDef) -> tuple[Any, list[str]]:
    lines: list[str] = []
    return platform.ensure_cluster(spec, lines.append), lines
