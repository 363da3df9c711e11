"""The label policy on the real control plane: sources whose selectors use the recommended
labels apply healthy with kwok's webhook adjustment, and an install labelled the way earlier
versions did (kfdeploy's values written over the source's, on objects and pod templates)
re-applies cleanly: no immutable-field error, a no-op after that."""

from __future__ import annotations

import copy
import json
import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml

from kfdeploy.kube.client import Cluster, KubeApiError
from kfdeploy.kube.engine import ApplyOptions, Engine
from kfdeploy.kube.inventory import Inventory, Record, kep_group_kind, stamp
from kfdeploy.labels import APPLICATION, LEGACY_APPLICATION, bookkeeping
from kfdeploy.objects import object_key

from .conftest import cli_run, eventually

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


@pytest.fixture()
def kube(cluster: Any) -> Cluster:
    return Cluster.connect(cluster.kubeconfig, cluster.context)


def test_selectors_on_component_apply_healthy_and_kwok_webhooks_ignore(cluster: Any, kube: Cluster,
                                                                      namespace: str, tmp_path: Path):
    spec = tmp_path / "kfdef.yaml"
    spec.write_text(yaml.safe_dump({
        "apiVersion": "kfdef.apps.kubeflow.org/v1", "kind": "KfDef",
        "metadata": {"name": f"sel-{uuid.uuid4().hex[:6]}"},
        "spec": {"platform": {"kind": "kwok"}, "applications": [
            {"name": "demo", "jsonnet": {"path": str(FIXTURES / "components" / "selects-component")},
             "params": {"namespace": namespace}}]}}))
    code, out, err = cli_run(cluster, "apply", "-f", str(spec), "--yes", "-v")
    assert code == 0, out + err
    assert "Platform adjustments (kwok)" in out
    assert "ValidatingWebhookConfiguration/demo-webhook (demo): webhook webhook.demo.example failurePolicy" \
           " Fail -> Ignore" in out

    live = kube.get({"apiVersion": "apps/v1", "kind": "Deployment",
                     "metadata": {"name": "demo-webhook", "namespace": namespace}})
    assert live is not None
    assert live["spec"]["selector"]["matchExpressions"] == [
        {"key": "app.kubernetes.io/component", "operator": "In", "values": ["webhook"]}]
    assert live["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/component"] == "webhook"
    assert live["metadata"]["labels"][APPLICATION] == "demo"
    code, out, _ = cli_run(cluster, "status", "-f", str(spec), "-o", "json")
    assert code == 0 and {c["health"] for c in json.loads(out)["components"]} == {"Healthy"}

    # The webhook intercepts labelled ConfigMaps; its simulated backend cannot answer, so only the
    # adjusted policy lets the write through. Back at the source's Fail, the same write is refused.
    hook_ref = {"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingWebhookConfiguration",
                "metadata": {"name": "demo-webhook"}}
    checked = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {
        "name": "checked", "namespace": namespace, "labels": {"demo.example/validate": "true"}}}
    kube.call("POST", f"/api/v1/namespaces/{namespace}/configmaps", body=checked)
    kube.call("PATCH", "/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations/demo-webhook",
              body={"webhooks": [{**kube.get(hook_ref)["webhooks"][0], "failurePolicy": "Fail"}]},  # type: ignore[index]
              content_type="application/merge-patch+json")

    def refusal() -> str:
        """The API server's answer to a new labelled write ('' when it let it through: its
        webhook configuration cache has not seen the patch yet)."""
        refused = copy.deepcopy(checked)
        refused["metadata"]["name"] = f"refused-{uuid.uuid4().hex[:6]}"
        try:
            kube.call("POST", f"/api/v1/namespaces/{namespace}/configmaps", body=refused)
        except KubeApiError as e:
            return str(e)
        return ""

    assert "webhook.demo.example" in eventually(refusal, bool, "a write refused by the webhook at Fail", timeout=30)
    code, out, err = cli_run(cluster, "apply", "-f", str(spec), "--yes", "--force-conflicts")
    assert code == 0, out + err  # the policy written by hand is taken back
    assert kube.get(hook_ref)["webhooks"][0]["failurePolicy"] == "Ignore"  # type: ignore[index]
    code, out, _ = cli_run(cluster, "plan", "-f", str(spec))
    assert code == 0, out


# -- an install made by an earlier version ------------------------------------------------------

def old_labels(app: str) -> dict[str, str]:
    """What versions before the label policy wrote over every object and pod template."""
    return {"app.kubernetes.io/part-of": "kubeflow", LEGACY_APPLICATION: app,
            "app.kubernetes.io/managed-by": "kfdeploy", "app.kubernetes.io/version": "1.10"}


def old_labelled(obj: dict[str, Any], app: str) -> dict[str, Any]:
    out = copy.deepcopy(obj)
    out["metadata"]["labels"] = {**out["metadata"].get("labels", {}), **old_labels(app)}
    template = out.get("spec", {}).get("template")
    if template is not None:
        template.setdefault("metadata", {})["labels"] = {**template["metadata"].get("labels", {}),
                                                        **old_labels(app)}
    return out


def source_objects(ns: str) -> list[dict[str, Any]]:
    """Library-style objects: selectors on app.kubernetes.io/name only (what earlier versions
    could install), a Service, a Job (immutable template) and a ConfigMap."""
    pod = {"containers": [{"name": "main", "image": "registry.k8s.io/pause:3.10"}]}
    name = {"app.kubernetes.io/name": "api"}
    return [
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "api-config", "namespace": ns,
                                                               "labels": dict(name)}, "data": {"a": "1"}},
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "api", "namespace": ns, "labels": dict(name)},
         "spec": {"selector": dict(name), "ports": [{"name": "http", "port": 80}]}},
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "api", "namespace": ns,
                                                                     "labels": dict(name)},
         "spec": {"selector": {"matchLabels": dict(name)},
                  "template": {"metadata": {"labels": dict(name)}, "spec": pod}}},
        {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "api-init", "namespace": ns},
         "spec": {"template": {"metadata": {"labels": {"app.kubernetes.io/name": "api-init"}},
                               "spec": {**pod, "restartPolicy": "OnFailure"}}}},
    ]


def install_like_earlier_versions(kube: Cluster, kfdef: str, app: str, objs: list[dict[str, Any]]) -> None:
    """Apply and record the objects exactly as an earlier version did: its labels, our field
    manager, the ApplySet label and hash, and the application's inventory record."""
    inventory = Inventory(kube, kfdef)
    stamped = [stamp(old_labelled(o, app), inventory.id) for o in objs]
    inventory.ensure_parent(sorted({kep_group_kind(o) for o in stamped}))
    for obj in stamped:
        kube.apply(obj)
    inventory.write(Record(app, [object_key(o) for o in stamped], hash="earlier", spec_hash="earlier",
                           api_versions={f"{object_key(o)[0]}|{o['kind']}": o["apiVersion"] for o in stamped}))


def as_rendered_now(objs: list[dict[str, Any]], app: str) -> list[dict[str, Any]]:
    out = copy.deepcopy(objs)
    for o in out:
        o["metadata"]["labels"] = bookkeeping(o["metadata"].get("labels"), app)
    return out


def test_reapply_over_an_install_of_an_earlier_version(kube: Cluster, namespace: str):
    kfdef, app = f"old-{uuid.uuid4().hex[:6]}", "api"
    install_like_earlier_versions(kube, kfdef, app, source_objects(namespace))
    ref = {o["kind"]: o for o in source_objects(namespace)}
    old_job = kube.get(ref["Job"])
    assert old_job is not None and old_job["spec"]["template"]["metadata"]["labels"][LEGACY_APPLICATION] == app

    desired = [o for o in as_rendered_now(source_objects(namespace), app) if o["kind"] != "ConfigMap"]
    engine = Engine(kube, kfdef, "now", ApplyOptions(timeout=120))
    plan = engine.plan([(app, desired, [])])
    changes = {c.key[1]: c for c in plan.apps[0].changes}
    assert changes["Job"].action == "update" and "immutable pod template" in changes["Job"].reason
    assert changes["ConfigMap"].action == "delete"  # found by the legacy label and the record
    [result] = engine.apply(plan)
    assert result.outcome == "applied", result.error

    live = {k: kube.get(o) for k, o in ref.items()}
    for kind in ("Service", "Deployment", "Job"):
        assert live[kind] is not None and live[kind]["metadata"]["labels"][APPLICATION] == app
        assert LEGACY_APPLICATION not in live[kind]["metadata"]["labels"], kind
    assert live["Deployment"]["spec"]["selector"] == ref["Deployment"]["spec"]["selector"]
    assert live["Deployment"]["spec"]["template"]["metadata"]["labels"] == {"app.kubernetes.io/name": "api"}
    assert live["Service"]["spec"]["selector"] == {"app.kubernetes.io/name": "api"}
    job_labels = live["Job"]["spec"]["template"]["metadata"]["labels"]  # type: ignore[index]
    assert {k: job_labels[k] for k in old_labels(app)} == old_labels(app)  # immutable: kept as it was
    assert live["ConfigMap"] is None

    again = Engine(kube, kfdef, "now", ApplyOptions(timeout=60))
    replan = again.plan([(app, desired, [])])
    assert not replan.has_changes, [(c.label, c.action, c.reason) for c in replan.apps[0].changes]
    assert again.apply(replan)[0].outcome == "unchanged"
