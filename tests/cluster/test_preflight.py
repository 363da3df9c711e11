"""Pre-flight checks against the real control plane: each failure mode an install meets halfway
(no node can take a replica, no default StorageClass, a CRD someone else owns, a blocking webhook
without a backend) is reported before anything changes, and apply then changes nothing."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from kfdeploy.kube.client import Cluster
from kfdeploy.kube.inventory import applyset_id
from kfdeploy.labels import PART_OF

from .conftest import cli_run, eventually

GROUP = "preflight.kfdeploy.test"


def write_spec(tmp_path: Path, name: str, objects: list[dict[str, Any]]) -> Path:
    """A spec with one user jsonnet application rendering ``objects``."""
    comp = tmp_path / "comp"
    comp.mkdir(parents=True)
    (comp / "main.jsonnet").write_text(f"function(params) {json.dumps(objects)}\n")
    spec = {"apiVersion": "kfdef.apps.kubeflow.org/v1", "kind": "KfDef", "metadata": {"name": name},
            "spec": {"platform": {"kind": "kwok"}, "applications": [{"name": "trainer", "jsonnet": {"path": str(comp)}}]}}
    path = tmp_path / "kfdef.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


run = cli_run


def findings(out: str, status: str | None = None) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = json.loads(out)["findings"]
    return [f for f in found if status is None or f["status"] == status]


def namespace_obj(name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}


def deployment(ns: str, resources: dict[str, Any], **pod: Any) -> dict[str, Any]:
    labels = {"app": "trainer"}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "trainer", "namespace": ns},
            "spec": {"replicas": 2, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels}, "spec": {
                         "containers": [{"name": "main", "image": "ghcr.io/example/trainer:1", "resources": resources}],
                         **pod}}}}


GPU_TOLERATION = [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]


def test_impossible_gpu_request_fails_and_apply_changes_nothing(cluster: Any, tmp_path: Path) -> None:
    ns = f"pf-gpu-{uuid.uuid4().hex[:6]}"
    spec = write_spec(tmp_path, ns, [namespace_obj(ns), deployment(
        ns, {"limits": {"nvidia.com/gpu": "8"}}, tolerations=GPU_TOLERATION)])
    code, out, _ = run(cluster, "preflight", "-f", str(spec), "-o", "json")
    assert code == 1
    failed = findings(out, "FAIL")
    assert [f["check"] for f in failed] == ["capacity"]
    assert "trainer" in failed[0]["object"] and f"Deployment/{ns}/trainer" in failed[0]["object"]
    assert "nvidia.com/gpu 8" in failed[0]["message"] and "4" in failed[0]["message"]
    assert failed[0]["fix"]

    code, out, err = run(cluster, "apply", "-f", str(spec), "--yes")
    assert code == 1
    assert "preflight" in err and "nothing was changed" in err and "nvidia.com/gpu 8" in err
    core = client.CoreV1Api(cluster.api)
    with pytest.raises(ApiException) as gone:
        core.read_namespace(ns)
    assert gone.value.status == 404
    kube = Cluster.connect(cluster.kubeconfig, cluster.context)
    assert kube.get({"apiVersion": "v1", "kind": "ConfigMap",
                     "metadata": {"name": f"kfdeploy.{ns}", "namespace": "kfdeploy-system"}}) is None

    # The same spec with a request the GPU node can hold passes the check.
    fits = write_spec(tmp_path / "fits", ns, [namespace_obj(ns), deployment(
        ns, {"limits": {"nvidia.com/gpu": "2"}}, tolerations=GPU_TOLERATION)])
    code, out, _ = run(cluster, "preflight", "-f", str(fits), "-o", "json")
    assert code == 0, out
    assert not findings(out, "FAIL")


@pytest.fixture()
def default_class_removed(cluster: Any) -> Iterator[str]:
    storage = client.StorageV1Api(cluster.api)
    default = next(sc for sc in storage.list_storage_class().items
                   if (sc.metadata.annotations or {}).get("storageclass.kubernetes.io/is-default-class") == "true")
    name = default.metadata.name
    storage.patch_storage_class(name, {"metadata": {"annotations": {
        "storageclass.kubernetes.io/is-default-class": "false"}}})
    try:
        yield name
    finally:
        storage.patch_storage_class(name, {"metadata": {"annotations": {
            "storageclass.kubernetes.io/is-default-class": "true"}}})


def pvc(ns: str, name: str, storage_class: str | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}
    if storage_class is not None:
        spec["storageClassName"] = storage_class
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": name, "namespace": ns},
            "spec": spec}


def test_storage_classes(cluster: Any, tmp_path: Path, default_class_removed: str) -> None:
    ns = f"pf-sc-{uuid.uuid4().hex[:6]}"
    spec = write_spec(tmp_path, ns, [namespace_obj(ns), pvc(ns, "data"), pvc(ns, "fast", "fast-ssd"),
                                     pvc(ns, "named", default_class_removed), pvc(ns, "static", "")])
    code, out, _ = run(cluster, "preflight", "-f", str(spec), "-o", "json")
    assert code == 1
    failed = {f["object"]: f for f in findings(out, "FAIL")}
    assert set(failed) == {f"PersistentVolumeClaim/{ns}/data", f"PersistentVolumeClaim/{ns}/fast"}
    assert "no default StorageClass" in failed[f"PersistentVolumeClaim/{ns}/data"]["message"]
    assert "is-default-class=true" in failed[f"PersistentVolumeClaim/{ns}/data"]["fix"]
    assert "fast-ssd" in failed[f"PersistentVolumeClaim/{ns}/fast"]["message"]


def crd(plural: str, kind: str) -> dict[str, Any]:
    return {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": f"{plural}.{GROUP}"},
            "spec": {"group": GROUP, "scope": "Namespaced",
                     "names": {"plural": plural, "singular": kind.lower(), "kind": kind, "listKind": kind + "List"},
                     "versions": [{"name": "v1", "served": True, "storage": True, "schema": {"openAPIV3Schema": {
                         "type": "object", "x-kubernetes-preserve-unknown-fields": True}}}]}}


def test_crds_owned_by_others_fail_naming_the_owner(cluster: Any, tmp_path: Path) -> None:
    suffix = uuid.uuid4().hex[:6]
    kube = Cluster.connect(cluster.kubeconfig, cluster.context)
    helm, applied, other = crd(f"h{suffix}s", f"H{suffix}"), crd(f"a{suffix}s", f"A{suffix}"), crd(f"o{suffix}s", f"O{suffix}")
    helm_live = {**helm, "metadata": {**helm["metadata"], "labels": {"app.kubernetes.io/managed-by": "Helm"},
                                      "annotations": {"meta.helm.sh/release-name": "widgets",
                                                      "meta.helm.sh/release-namespace": "tools"}}}
    other_live = {**other, "metadata": {**other["metadata"], "labels": {PART_OF: applyset_id("someone-else")}}}
    kube.apply(helm_live, field_manager="helm")
    kube.apply(applied, field_manager="argocd-controller")
    kube.apply(other_live, field_manager="kfdeploy")
    try:
        spec = write_spec(tmp_path, f"pf-crd-{suffix}", [helm, applied, other, crd(f"n{suffix}s", f"N{suffix}")])
        code, out, _ = run(cluster, "preflight", "-f", str(spec), "-o", "json")
        assert code == 1
        failed = {f["object"]: f["message"] for f in findings(out, "FAIL")}
        assert set(failed) == {f"CustomResourceDefinition/{c['metadata']['name']}" for c in (helm, applied, other)}
        assert "Helm release tools/widgets" in failed[f"CustomResourceDefinition/{helm['metadata']['name']}"]
        assert "field manager argocd-controller" in failed[f"CustomResourceDefinition/{applied['metadata']['name']}"]
        assert "ApplySet" in failed[f"CustomResourceDefinition/{other['metadata']['name']}"]

        code, out, _ = run(cluster, "preflight", "-f", str(spec), "-o", "json", "--force-conflicts")
        assert code == 0
        assert len([f for f in findings(out, "WARN") if f["check"] == "crds"]) == 3
    finally:
        for c in (helm, applied, other):
            kube.delete(c)


def test_foreign_blocking_webhook_fails_naming_it(cluster: Any, tmp_path: Path) -> None:
    suffix = uuid.uuid4().hex[:6]
    ns = f"pf-hook-{suffix}"
    hook_name = f"other-policy-{suffix}"
    admission = client.AdmissionregistrationV1Api(cluster.api)
    # Scoped by an object label only this test's ConfigMap carries, so no other write is blocked.
    admission.create_validating_webhook_configuration({
        "metadata": {"name": hook_name},
        "webhooks": [{"name": "deny.other.example.com", "admissionReviewVersions": ["v1"], "sideEffects": "None",
                      "failurePolicy": "Fail", "objectSelector": {"matchLabels": {"preflight-test": suffix}},
                      "clientConfig": {"service": {"namespace": "other-system", "name": "policy", "path": "/v"}},
                      "rules": [{"operations": ["CREATE", "UPDATE"], "apiGroups": [""], "apiVersions": ["v1"],
                                 "resources": ["configmaps"]}]}]})
    try:
        cm = {"apiVersion": "v1", "kind": "ConfigMap",
              "metadata": {"name": "settings", "namespace": ns, "labels": {"preflight-test": suffix}}, "data": {"a": "b"}}
        spec = write_spec(tmp_path, ns, [namespace_obj(ns), cm])
        code, out, _ = run(cluster, "preflight", "-f", str(spec), "-o", "json")
        assert code == 1
        failed = findings(out, "FAIL")
        assert [f["check"] for f in failed] == ["webhooks"]
        assert hook_name in failed[0]["object"] and "deny.other.example.com" in failed[0]["object"]
        assert f"ConfigMap/{ns}/settings" in failed[0]["message"] and "other-system/policy" in failed[0]["message"]

        # Without its label the ConfigMap is not intercepted: the check follows the selectors.
        unlabelled = write_spec(tmp_path / "u", f"{ns}-u", [namespace_obj(ns), {**cm, "metadata": {
            "name": "settings", "namespace": ns}}])
        code, out, _ = run(cluster, "preflight", "-f", str(unlabelled), "-o", "json")
        assert code == 0 and not findings(out, "FAIL")

        # Skipping the check says so, and apply then cannot write what the check said it would block.
        code, out, err = run(cluster, "apply", "-f", str(spec), "--yes", "--skip-preflight", "--timeout", "5")
        assert code == 1
        assert "preflight skipped (--skip-preflight)" in err
        core = client.CoreV1Api(cluster.api)
        with pytest.raises(ApiException):
            core.read_namespaced_config_map("settings", ns)
    finally:
        admission.delete_validating_webhook_configuration(hook_name)
        run(cluster, "delete", "-f", str(spec), "--yes")


# -- Pod Security admission: the prediction against the API server's own verdict ------------------

def pss_namespace(core: client.CoreV1Api, level: str) -> str:
    name = f"pf-pss-{level}-{uuid.uuid4().hex[:6]}"
    core.create_namespace({"metadata": {"name": name, "labels": {"pod-security.kubernetes.io/enforce": level}}})
    # A pod needs its ServiceAccount (admitted before Pod Security), which the controller-manager makes.
    eventually(lambda: [a.metadata.name for a in core.list_namespaced_service_account(name).items],
               lambda names: "default" in names, f"ServiceAccount {name}/default")
    return name


def admitted(core: client.CoreV1Api, ns: str, spec: dict[str, Any]) -> bool:
    """The API server's PodSecurity admission on a Pod of this spec (a server-side dry run: the
    admission runs, nothing is stored)."""
    try:
        core.create_namespaced_pod(ns, {"metadata": {"generateName": "pss-"}, "spec": spec}, dry_run="All")
    except ApiException as e:
        assert e.status == 403 and "violates PodSecurity" in (e.body or ""), e.body
        return False
    return True


def test_pod_security_prediction_matches_the_api_server(cluster: Any, tmp_path: Path) -> None:
    from fixtures.pod_security_cases import BASELINE, HARDENED, RESTRICTED

    from kfdeploy.preflight.pod_security import violations

    core = client.CoreV1Api(cluster.api)
    cases = [("hardened", HARDENED, "")] + BASELINE + RESTRICTED
    namespaces = {level: pss_namespace(core, level) for level in ("baseline", "restricted")}
    try:
        disagree = [(name, level) for name, spec, _ in cases for level, ns in namespaces.items()
                    if (violations(level, spec) == []) != admitted(core, ns, spec)]
        assert disagree == []
        # `preflight` names the workload, the namespace, the level and the field before apply.
        ns = namespaces["restricted"]
        spec = write_spec(tmp_path, f"pf-pss-{uuid.uuid4().hex[:6]}", [deployment(ns, {}, hostNetwork=True)])
        code, out, _ = run(cluster, "preflight", "-f", str(spec), "-o", "json")
        assert code == 1
        [found] = [f for f in findings(out, "FAIL") if f["check"] == "pod-security"]
        assert found["object"] == f"Deployment/{ns}/trainer"
        assert "restricted" in found["message"] and "spec.template.spec.hostNetwork" in found["message"]
        assert "in the cluster" in found["message"]
    finally:
        for ns in namespaces.values():
            core.delete_namespace(ns)
