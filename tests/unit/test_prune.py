"""Prune and delete fail closed: every protection, with errors injected at kfdeploy's own cluster
client (``fakes.kube_api.FakeCluster``). Only a 404 or 405 means "nothing to keep"; a 403, a 500,
a timeout or a refused connection keeps the object and says why and which flag deletes it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fakes.kube_api import FakeCluster, Kind, refused, status_error, timed_out

from kfdeploy.kube.delete import delete_owned
from kfdeploy.kube.engine import ApplyOptions, Engine
from kfdeploy.kube.inventory import Inventory, Record, applyset_id
from kfdeploy.kube.prune import PruneRules, protection
from kfdeploy.labels import APPLICATION, PART_OF
from kfdeploy.objects import describe, describe_key, object_key

SET = applyset_id("demo")
NOTEBOOK = Kind("kubeflow.org", "v1", "Notebook", "notebooks")
CR_PATH = r"^/apis/kubeflow\.org/v1/notebooks$"
ERRORS: dict[str, tuple[Callable[[], Exception], str]] = {
    "403": (lambda: status_error(403, "Forbidden"), "forbidden"),
    "500": (lambda: status_error(500, "InternalError"), "internalerror"),
    "timeout": (timed_out, "timed out"),
    "refused": (refused, "connection refused"),
}


def ours(obj: dict[str, Any], app: str = "notebooks") -> dict[str, Any]:
    obj["metadata"].setdefault("labels", {}).update({PART_OF: SET, APPLICATION: app})
    return obj


def crd() -> dict[str, Any]:
    return ours({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
                 "metadata": {"name": "notebooks.kubeflow.org"},
                 "spec": {"group": "kubeflow.org", "scope": "Namespaced",
                          "names": {"kind": "Notebook", "plural": "notebooks"},
                          "versions": [{"name": "v1", "served": True, "storage": True}]}})


def namespace(name: str = "team") -> dict[str, Any]:
    return ours({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})


def obj(kind: str, name: str, ns: str = "team", api_version: str = "v1", **meta: Any) -> dict[str, Any]:
    return {"apiVersion": api_version, "kind": kind, "metadata": {"name": name, "namespace": ns, **meta}}


def cluster_with_notebooks(*names: str) -> FakeCluster:
    fake = FakeCluster()
    fake.add_kind(NOTEBOOK)
    fake.add(*(obj("Notebook", n, "alice", "kubeflow.org/v1") for n in names))
    return fake


# -- PersistentVolumeClaims: never deleted without the flag --------------------------------------

def test_a_pvc_is_kept_without_a_request_and_the_flag_is_named():
    fake = FakeCluster()
    pvc = ours(obj("PersistentVolumeClaim", "data"))
    assert "--prune-pvcs" in (protection(fake, pvc, SET, PruneRules()) or "")
    assert "--delete-pvcs" in (protection(fake, pvc, SET, PruneRules(verb="delete")) or "")
    assert protection(fake, pvc, SET, PruneRules(prune_pvcs=True)) is None
    assert fake.requests == 0


# -- CRDs: kept while custom resources exist, or while that cannot be told ------------------------

def test_a_crd_with_custom_resources_is_kept_naming_how_many_and_one_of_them():
    reason = protection(cluster_with_notebooks("a", "b", "c"), crd(), SET, PruneRules())
    assert reason is not None
    assert "3 custom resource(s)" in reason and "Notebook.kubeflow.org/alice/a" in reason and "--prune-crds" in reason


def test_a_crd_without_custom_resources_may_go():
    assert protection(cluster_with_notebooks(), crd(), SET, PruneRules()) is None


def test_a_crd_whose_kind_is_not_served_any_more_may_go():
    fake = FakeCluster()  # no Notebook kind: its LIST answers 404
    assert protection(fake, crd(), SET, PruneRules()) is None
    assert ("GET", "/apis/kubeflow.org/v1/notebooks") in fake.log


def test_a_crd_with_only_unserved_versions_falls_back_to_a_served_one():
    fake = cluster_with_notebooks("a")
    two = crd()
    two["spec"]["versions"] = [{"name": "v1beta1", "served": True}, {"name": "v1", "served": True}]
    assert "1 custom resource(s)" in (protection(fake, two, SET, PruneRules()) or "")


@pytest.mark.parametrize("error", ERRORS, ids=list(ERRORS))
def test_a_crd_is_kept_when_its_custom_resources_cannot_be_counted(error: str):
    make, shown = ERRORS[error]
    fake = cluster_with_notebooks()  # none exist, but the cluster does not say so
    fake.fail("GET", CR_PATH, make())
    reason = protection(fake, crd(), SET, PruneRules())
    assert reason is not None, "an unanswered count must keep the CRD"
    assert reason.startswith("could not count its custom resources")
    assert shown in reason.lower() and "--prune-crds deletes it anyway" in reason


def test_the_crd_flag_deletes_it_without_asking_the_cluster():
    fake = cluster_with_notebooks("a")
    fake.fail("GET", CR_PATH, status_error(403, "Forbidden"))
    assert protection(fake, crd(), SET, PruneRules(prune_crds=True)) is None


# -- Namespaces: kept while they hold anyone else's objects, or while that cannot be told ----------

def test_a_namespace_holding_only_ours_derived_and_automatic_objects_may_go():
    fake = FakeCluster()
    fake.add(namespace(), ours(obj("ConfigMap", "settings")), obj("ConfigMap", "kube-root-ca.crt"),
             obj("ServiceAccount", "default"), obj("Event", "x.123"),
             obj("Pod", "web-1", ownerReferences=[{"kind": "ReplicaSet", "name": "web"}]))
    assert protection(fake, namespace(), SET, PruneRules()) is None


@pytest.mark.parametrize("foreign", [
    obj("ConfigMap", "theirs"),
    obj("Role", "reader", api_version="rbac.authorization.k8s.io/v1"),
    obj("Notebook", "analysis", api_version="kubeflow.org/v1"),
], ids=["configmap", "role", "custom-resource"])
def test_a_namespace_holding_someone_elses_object_is_kept_naming_it(foreign: dict[str, Any]):
    fake = FakeCluster()
    fake.add_kind(NOTEBOOK)
    fake.add(namespace(), foreign)
    reason = protection(fake, namespace(), SET, PruneRules())
    assert reason is not None and describe(foreign) in reason
    assert "--prune-namespaces" in reason


@pytest.mark.parametrize("error", ERRORS, ids=list(ERRORS))
@pytest.mark.parametrize("path", [r"/namespaces/team/secrets$", r"^/apis$"], ids=["list", "discovery"])
def test_a_namespace_is_kept_when_its_objects_cannot_be_listed(error: str, path: str):
    make, shown = ERRORS[error]
    fake = FakeCluster()
    fake.add(namespace())  # empty, but the cluster does not say so
    fake.fail("GET", path, make())
    reason = protection(fake, namespace(), SET, PruneRules(verb="delete"))
    assert reason is not None, "an unanswered LIST must keep the namespace"
    assert reason.startswith("could not list the claims and objects in it")
    assert shown in reason.lower() and "--delete-namespaces with --delete-pvcs deletes it anyway" in reason


def test_a_kind_that_cannot_be_listed_405_holds_nothing():
    fake = FakeCluster()  # Binding is create-only: its LIST answers 405
    fake.add(namespace())
    assert protection(fake, namespace(), SET, PruneRules()) is None
    assert ("GET", "/api/v1/namespaces/team/bindings") in fake.log


def test_the_namespace_and_claim_flags_delete_it_without_asking_the_cluster():
    fake = FakeCluster()
    fake.add(namespace(), obj("ConfigMap", "theirs"), obj("PersistentVolumeClaim", "theirs"))
    fake.fail("GET", r"^/apis$", status_error(500, "InternalError"))
    fake.fail("GET", r"/persistentvolumeclaims$", status_error(500, "InternalError"))
    assert protection(fake, namespace(), SET, PruneRules(prune_namespaces=True, prune_pvcs=True)) is None


# -- Namespaces take their claims' data with them: kept unless the claims' flag is given too -------

@pytest.mark.parametrize("claim", [
    ours(obj("PersistentVolumeClaim", "ours")),
    obj("PersistentVolumeClaim", "workspace"),
    obj("PersistentVolumeClaim", "data-db-0", ownerReferences=[{"kind": "StatefulSet", "name": "db"}]),
], ids=["ours", "someone-elses", "owned-by-a-statefulset"])
@pytest.mark.parametrize("verb", ["prune", "delete"])
def test_a_namespace_holding_a_claim_is_kept_even_with_the_namespace_flag(claim: dict[str, Any], verb: str):
    fake = FakeCluster()
    fake.add(namespace(), claim)
    for rules in (PruneRules(verb=verb), PruneRules(prune_namespaces=True, verb=verb)):
        reason = protection(fake, namespace(), SET, rules)
        assert reason is not None, f"a namespace with {claim['metadata']['name']} must be kept ({rules})"
        assert f"PersistentVolumeClaim/{claim['metadata']['name']}" in reason
        assert f"--{verb}-pvcs" in reason and "reclaimPolicy" in reason
    assert protection(fake, namespace(), SET, PruneRules(prune_namespaces=True, prune_pvcs=True, verb=verb)) is None


def test_the_claim_flag_alone_leaves_the_namespace_to_its_foreign_objects():
    fake = FakeCluster()
    fake.add(namespace(), obj("PersistentVolumeClaim", "workspace"))
    reason = protection(fake, namespace(), SET, PruneRules(prune_pvcs=True))
    assert reason is not None and "does not own" in reason and "--prune-namespaces" in reason


def test_a_namespace_is_kept_when_its_claims_cannot_be_listed():
    fake = FakeCluster()
    fake.add(namespace())
    fake.fail("GET", r"/namespaces/team/persistentvolumeclaims$", status_error(403, "Forbidden"))
    reason = protection(fake, namespace(), SET, PruneRules(prune_namespaces=True))
    assert reason is not None and reason.startswith("could not list the claims")


# -- the delete verb and the apply plan read the same protections ---------------------------------

def installed(fake: FakeCluster) -> list[dict[str, Any]]:
    objs = [namespace(), ours(obj("ConfigMap", "settings")), ours(obj("PersistentVolumeClaim", "data")),
            ours(obj("Deployment", "web", api_version="apps/v1")), crd()]
    fake.add(*objs)
    return objs


def test_delete_keeps_protected_objects_and_what_holds_them_and_deletes_the_rest():
    fake = cluster_with_notebooks()
    objs = installed(fake)
    fake.fail("GET", CR_PATH, status_error(403, "Forbidden"))
    done = delete_owned(fake, "demo", "h", [("notebooks", objs)], PruneRules(verb="delete"),
                        lambda *_: None, lambda _: None)
    kept = dict(done.kept)
    assert set(kept) == {"PersistentVolumeClaim/team/data", "CustomResourceDefinition/notebooks.kubeflow.org",
                         "Namespace/team"}
    assert "403" in kept["CustomResourceDefinition/notebooks.kubeflow.org"] or \
        "forbidden" in kept["CustomResourceDefinition/notebooks.kubeflow.org"]
    assert "PersistentVolumeClaim/team/data" in kept["Namespace/team"]
    assert fake.names("ConfigMap") == [] and fake.names("Deployment") == []
    assert fake.names("CustomResourceDefinition") == ["notebooks.kubeflow.org"]
    assert done.deleted == 2


def test_plan_marks_an_unanswered_protection_as_keep_with_the_reason():
    fake = cluster_with_notebooks()
    objs = installed(fake)
    Inventory(fake, "demo").write(Record("notebooks", [object_key(o) for o in objs],
                                         api_versions={f"{g}|{k}": o["apiVersion"]
                                                       for o in objs for g, k, _, _ in [object_key(o)]}))
    fake.fail("GET", CR_PATH, timed_out())
    still_rendered = [o for o in objs if o["kind"] == "Deployment"]
    plan = Engine(fake, "demo", "h", ApplyOptions()).plan([("notebooks", still_rendered, [])])
    actions = {describe_key(c.key): (c.action, c.reason) for p in plan.apps for c in p.changes}
    assert actions["CustomResourceDefinition/notebooks.kubeflow.org"][0] == "keep"
    assert "timed out" in actions["CustomResourceDefinition/notebooks.kubeflow.org"][1]
    assert actions["ConfigMap/team/settings"] == ("delete", "")
    assert actions["Namespace/team"][0] == "keep"  # the Deployment and the PVC stay in it


def test_plan_with_prune_namespaces_keeps_a_namespace_whose_claim_is_kept():
    fake = FakeCluster()
    objs = [namespace(), ours(obj("PersistentVolumeClaim", "data")), ours(obj("ConfigMap", "settings"))]
    fake.add(*objs)
    Inventory(fake, "demo").write(Record("notebooks", [object_key(o) for o in objs],
                                         api_versions={f"{g}|{k}": o["apiVersion"]
                                                       for o in objs for g, k, _, _ in [object_key(o)]}))
    plan = Engine(fake, "demo", "h", ApplyOptions(rules=PruneRules(prune_namespaces=True))).plan(
        [("notebooks", [], [])])
    actions = {describe_key(c.key): (c.action, c.reason) for p in plan.apps for c in p.changes}
    assert actions["PersistentVolumeClaim/team/data"][0] == "keep"
    assert actions["Namespace/team"][0] == "keep" and "--prune-pvcs" in actions["Namespace/team"][1]
    assert actions["ConfigMap/team/settings"][0] == "delete"
