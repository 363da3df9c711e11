"""Waiting for CRDs against the real local control plane: the wait lists only the CRDs of the
application (by its labels), and a CRD that is not there is never taken for Established."""

from __future__ import annotations

import time
from typing import Any

import pytest

from kfdeploy.kube.client import Cluster
from kfdeploy.kube.wait import wait_established
from kfdeploy.labels import PART_OF

from .test_engine import unique, widget_crd


class CountingCluster(Cluster):
    """The project's client, recording the label selector of every CRD list."""

    selectors: list[str | None]

    def list(self, api_version: str, kind: str, *, namespace: str | None = None,
             label_selector: str | None = None) -> list[dict[str, Any]]:
        if kind == "CustomResourceDefinition":
            self.selectors.append(label_selector)
        return super().list(api_version, kind, namespace=namespace, label_selector=label_selector)


@pytest.fixture()
def kube(cluster: Any) -> CountingCluster:
    plain = Cluster.connect(cluster.kubeconfig, cluster.context)
    counting = CountingCluster(plain.api, plain.description)
    counting.selectors = []
    return counting


def crd_of(app: str, plural: str) -> dict[str, Any]:
    obj = widget_crd(app, plural, plural.capitalize().rstrip("s"))
    obj["metadata"]["labels"][PART_OF] = f"set-{app}"
    return obj


def test_wait_lists_only_the_applications_crds_and_sees_them_established(kube: CountingCluster):
    app, other = unique("wait"), unique("other")
    mine = [crd_of(app, unique("gizmos").replace("-", "")), crd_of(app, unique("doodads").replace("-", ""))]
    theirs = crd_of(other, unique("gears").replace("-", ""))
    try:
        for obj in [*mine, theirs]:
            kube.apply(obj)
        assert wait_established(kube, mine, time.monotonic() + 60) == []
        assert kube.selectors and all(s is not None and f"{PART_OF}=set-{app}" in s for s in kube.selectors)
    finally:
        for obj in [*mine, theirs]:
            kube.delete(obj)


def test_a_crd_that_does_not_exist_is_reported_pending(kube: CountingCluster):
    app = unique("missing")
    absent = crd_of(app, unique("phantoms").replace("-", ""))
    [line] = wait_established(kube, [absent], time.monotonic() + 0.5)
    assert absent["metadata"]["name"] in line and "before the timeout" in line


def test_a_crd_whose_names_clash_fails_at_once_with_the_reason(kube: CountingCluster):
    app, first, second = unique("clash"), unique("sprockets").replace("-", ""), unique("cogs").replace("-", "")
    taken = crd_of(app, first)
    clash = crd_of(app, second)
    clash["spec"]["names"]["kind"] = taken["spec"]["names"]["kind"]  # two CRDs claiming one kind
    clash["spec"]["names"]["listKind"] = taken["spec"]["names"]["listKind"]
    try:
        kube.apply(taken)
        assert wait_established(kube, [taken], time.monotonic() + 60) == []
        kube.apply(clash)
        # A deadline far off: only a refusal seen at once, not the deadline, ends this wait.
        [line] = wait_established(kube, [clash], time.monotonic() + 600)
        assert clash["metadata"]["name"] in line and "names not accepted" in line
    finally:
        for obj in (clash, taken):
            kube.delete(obj)
