"""What the live index keeps, and the label selector that scopes a CRD wait: pure functions."""

from __future__ import annotations

from typing import Any

import pytest

from kfdeploy.kube.live import LiveIndex, slim
from kfdeploy.kube.wait import shared_selector
from kfdeploy.labels import APPLICATION as COMPONENT
from kfdeploy.labels import PART_OF


def live(kind: str, name: str) -> dict[str, Any]:
    api_version = "apiextensions.k8s.io/v1" if kind == "CustomResourceDefinition" else "v1"
    return {"apiVersion": api_version, "kind": kind, "data": {"a": "1"},
            "metadata": {"name": name, "namespace": "ns", "resourceVersion": "7",
                         "managedFields": [{"manager": "kfdeploy", "operation": "Apply",
                                            "fieldsV1": {"f:data": {"f:a": {}}}}]}}


def test_slim_drops_a_crds_managed_fields_and_keeps_the_rest():
    obj = slim(live("CustomResourceDefinition", "a"))
    assert "managedFields" not in obj["metadata"]
    assert obj["metadata"]["resourceVersion"] == "7"
    assert obj["data"] == {"a": "1"}


def test_slim_keeps_managed_fields_of_other_kinds():
    assert slim(live("Job", "j")) == live("Job", "j")


def test_slim_takes_objects_without_metadata():
    assert slim({"kind": "CustomResourceDefinition"}) == {"kind": "CustomResourceDefinition"}


def test_live_index_holds_no_crd_managed_fields_from_lists_or_applies():
    index = LiveIndex([live("CustomResourceDefinition", "listed")])
    index.update([live("CustomResourceDefinition", "applied"), live("ConfigMap", "cm")])
    assert len(index.by_key) == 3
    kept = {o["metadata"]["name"]: "managedFields" in o["metadata"] for o in index.by_key.values()}
    assert kept == {"listed": False, "applied": False, "cm": True}


def crd(name: str, **labels: str) -> dict[str, Any]:
    return {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": name, "labels": labels}}


@pytest.mark.parametrize(("crds", "expected"), [
    ([crd("a", **{PART_OF: "set1", COMPONENT: "app"}), crd("b", **{PART_OF: "set1", COMPONENT: "app"})],
     f"{PART_OF}=set1,{COMPONENT}=app"),
    ([crd("a", **{PART_OF: "set1", COMPONENT: "x"}), crd("b", **{PART_OF: "set1", COMPONENT: "y"})],
     f"{PART_OF}=set1"),
    ([crd("a", **{PART_OF: "set1"}), crd("b")], None),
    ([], None),
], ids=["same-app", "apps-differ", "one-unlabelled", "none"])
def test_shared_selector_matches_every_object(crds: list[dict[str, Any]], expected: str | None):
    selector = shared_selector(crds, (PART_OF, COMPONENT))
    assert selector == expected
    for c in crds:  # the selector never leaves out one of the objects
        pairs = [p.split("=", 1) for p in (selector or "").split(",") if p]
        assert all(c["metadata"]["labels"].get(k) == v for k, v in pairs)


def test_reading_the_whole_index_is_safe_while_it_changes():
    # Parallel applications fold what they applied into the shared index while others read it.
    index = LiveIndex([live("ConfigMap", f"cm-{i}") for i in range(3)])
    seen = []
    for key, _ in index.by_key.items():
        index.update([live("ConfigMap", f"new-{key[3]}")])
        index.drop(key)
        seen.append(key[3])
    assert sorted(seen) == ["cm-0", "cm-1", "cm-2"]
    assert sorted(k[3] for k in index.by_key) == ["new-cm-0", "new-cm-1", "new-cm-2"]
