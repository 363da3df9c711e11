"""Health rules, one named YAML fixture per case (tests/fixtures/health/<case>.yaml).

Each fixture holds ``expect: {status, message}`` (a substring of the message) and ``object`` (the live
object, or null for one that does not exist). A message never names its own object: the caller
does, once (``kfdeploy.objects.describe``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from kfdeploy.kube.health import Health, application_health, assess, pod_failure
from kfdeploy.objects import describe

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "health"
CASES = sorted(FIXTURES.glob("*.yaml"))


def _load(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text())
    assert isinstance(data, dict) and set(data) == {"expect", "object"}, f"{path.name}: needs expect and object"
    return data


def test_enough_cases_cover_every_kind_rule() -> None:
    kinds = {(_load(p)["object"] or {}).get("kind") for p in CASES}
    assert len(CASES) >= 40
    assert {
        "Deployment",
        "StatefulSet",
        "DaemonSet",
        "Job",
        "PersistentVolumeClaim",
        "Service",
        "CustomResourceDefinition",
        "APIService",
        "Pod",
        "Namespace",
    } <= kinds


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_assess(path: Path) -> None:
    case = _load(path)
    health = assess(case["object"])
    assert health.status == case["expect"]["status"], health.message
    assert case["expect"]["message"] in health.message
    if case["object"] is not None:
        assert not health.message.startswith((case["object"]["kind"], describe(case["object"]))), health.message


def _pod(name: str, *containers: tuple[str, str]) -> dict[str, Any]:
    statuses: list[dict[str, Any]] = [
        {"name": c, "state": {"waiting": {"reason": reason}} if reason else {"running": {}}} for c, reason in containers
    ]
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": "kubeflow"},
        "status": {"phase": "Running", "containerStatuses": statuses},
    }


@pytest.mark.parametrize(
    "pods,expected",
    [
        ([], None),
        ([_pod("a", ("app", "")), _pod("b", ("app", "ContainerCreating"))], None),
        (
            [
                _pod("a", ("app", "")),
                _pod("b", ("proxy", ""), ("app", "CrashLoopBackOff")),
                _pod("c", ("app", "ErrImagePull")),
            ],
            Health("Failed", "Pod/kubeflow/b: container app: CrashLoopBackOff (restarts 0)"),
        ),
    ],
    ids=["no-pods", "healthy-or-starting", "first-crashing-pod"],
)
def test_pod_failure(pods: list[dict[str, Any]], expected: Health | None) -> None:
    assert pod_failure(pods) == expected


@pytest.mark.parametrize("statuses,verdict", [
    (["Current", "Current"], "Healthy"),
    (["Current", "InProgress"], "Progressing"),
    (["Current", "Terminating"], "Progressing"),
    (["Current", "Failed"], "Degraded"),
    (["Current", "NotFound"], "Degraded"),
    (["InProgress", "Failed"], "Degraded"),
    (["NotFound", "NotFound"], "Missing"),
], ids=["all-current", "one-in-progress", "one-terminating", "one-failed", "one-missing",
        "failed-wins-over-progressing", "none-there"])
def test_an_applications_verdict(statuses: list[Any], verdict: str) -> None:
    assert application_health(statuses) == verdict
