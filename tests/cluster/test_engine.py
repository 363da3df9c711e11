"""The apply engine against the real local control plane: ordering, gating, conflicts, prune
safety and failure handling. Each test owns its inventory name and namespace."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from kfdeploy.kube.client import Cluster
from kfdeploy.kube.engine import ApplyOptions, AppResult, Engine
from kfdeploy.kube.prune import PruneRules
from kfdeploy.labels import bookkeeping

GROUP = "widgets.test.kfdeploy.io"


@pytest.fixture()
def kube(cluster: Any) -> Cluster:
    return Cluster.connect(cluster.kubeconfig, cluster.context)


def converge(kube: Cluster, name: str, apps: list[tuple[str, list[dict[str, Any]], list[str]]],
             **options: Any) -> dict[str, AppResult]:
    engine = Engine(kube, name, "test-spec", ApplyOptions(**options))
    return {r.name: r for r in engine.apply(engine.plan(apps))}


def labelled(obj: dict[str, Any], app: str) -> dict[str, Any]:
    """What the renderer would add: the application label (and recommended labels) on the
    object's metadata; pod templates stay as written."""
    obj["metadata"]["labels"] = bookkeeping(obj["metadata"].get("labels"), app)
    return obj


def configmap(name: str, ns: str, app: str, labels: dict[str, str] | None = None, **data: str) -> dict[str, Any]:
    return labelled({"apiVersion": "v1", "kind": "ConfigMap",
                     "metadata": {"name": name, "namespace": ns, "labels": labels or {}},
                     "data": data}, app)


def deployment(name: str, ns: str, app: str, replicas: int = 1, node_selector: dict[str, str] | None = None) -> dict[str, Any]:
    pod_labels = {"app.kubernetes.io/name": name}
    spec: dict[str, Any] = {"containers": [{"name": "main", "image": "registry.k8s.io/pause:3.10",
                                            "ports": [{"name": "https", "containerPort": 8443}]}]}
    if node_selector:
        spec["nodeSelector"] = node_selector
    return labelled({"apiVersion": "apps/v1", "kind": "Deployment",
                     "metadata": {"name": name, "namespace": ns},
                     "spec": {"replicas": replicas, "selector": {"matchLabels": {"app.kubernetes.io/name": name}},
                              "template": {"metadata": {"labels": pod_labels}, "spec": spec}}}, app)


def service(name: str, ns: str, app: str, selector_name: str) -> dict[str, Any]:
    return labelled({"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": ns},
                     "spec": {"selector": {"app.kubernetes.io/name": selector_name},
                              "ports": [{"name": "https", "port": 443, "targetPort": "https"}]}}, app)


def widget_crd(app: str, plural: str = "widgets", kind: str = "Widget") -> dict[str, Any]:
    return labelled({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
                     "metadata": {"name": f"{plural}.{GROUP}"},
                     "spec": {"group": GROUP, "scope": "Namespaced",
                              "names": {"kind": kind, "plural": plural, "singular": kind.lower(),
                                        "listKind": kind + "List"},
                              "versions": [{"name": "v1", "served": True, "storage": True, "schema": {
                                  "openAPIV3Schema": {"type": "object", "properties": {"spec": {
                                      "type": "object", "x-kubernetes-preserve-unknown-fields": True}}}}}]}},
                   app)


def widget(name: str, ns: str, app: str, kind: str = "Widget") -> dict[str, Any]:
    return labelled({"apiVersion": f"{GROUP}/v1", "kind": kind, "metadata": {"name": name, "namespace": ns},
                     "spec": {"size": 3}}, app)


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


def test_crd_and_its_custom_resources_apply_in_one_application(kube: Cluster, namespace: str):
    app = unique("crd")
    objs = [widget("w1", namespace, app, "Gadget"), widget_crd(app, "gadgets", "Gadget")]
    results = converge(kube, app, [(app, objs, [])])
    assert results[app].outcome == "applied", results[app].error
    live = kube.get(widget("w1", namespace, app, "Gadget"))
    assert live is not None and live["spec"] == {"size": 3}
    # Converged: a second run is a no-op that touches nothing.
    assert converge(kube, app, [(app, objs, [])])[app].outcome == "unchanged"


def test_webhook_gate_waits_for_the_backend_before_intercepted_objects(kube: Cluster, namespace: str):
    svc_ip = kube.call("GET", "/api/v1/namespaces/default/services/kubernetes")["spec"]["clusterIP"]
    assert svc_ip.startswith("127."), "webhook calls must stay on loopback (service CIDR)"
    hooks, consumer = unique("hooks"), unique("consumer")
    hook = labelled({
        "apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingWebhookConfiguration",
        "metadata": {"name": hooks},
        "webhooks": [{"name": f"{hooks}.test.kfdeploy.io", "failurePolicy": "Ignore", "sideEffects": "None",
                      "admissionReviewVersions": ["v1"], "timeoutSeconds": 2,
                      "clientConfig": {"service": {"name": "backend", "namespace": namespace, "port": 443}},
                      "objectSelector": {"matchLabels": {"gated": hooks}},
                      "rules": [{"apiGroups": [""], "apiVersions": ["v1"], "resources": ["configmaps"],
                                 "operations": ["CREATE", "UPDATE"]}]}]}, hooks)
    backend = [deployment("backend", namespace, hooks), service("backend", namespace, hooks, "backend"), hook]
    name = unique("gate")
    assert converge(kube, name, [(hooks, backend, [])], timeout=60)[hooks].outcome == "applied"

    # Take the backend away behind kfdeploy's back: the intercepted object must wait, then fail.
    kube.call("PATCH", f"/apis/apps/v1/namespaces/{namespace}/deployments/backend",
              body={"spec": {"replicas": 0}}, content_type="application/merge-patch+json",
              query={"fieldManager": "test-operator"})
    gated = configmap("gated", namespace, consumer, {"gated": hooks}, a="1")
    other_set = unique("consumer-set")  # a separate inventory, so nothing restores the backend
    results = converge(kube, other_set, [(consumer, [gated], [])], timeout=4)
    assert results[consumer].outcome == "failed"
    assert f"Service/{namespace}/backend" in results[consumer].error
    assert "ready endpoints" in results[consumer].error
    assert kube.get(gated) is None, "the gated object was created before its webhook could serve"

    # Re-applying the webhook's application repairs the drifted replicas (someone else's edit),
    # and the gated object then goes through.
    results = converge(kube, name, [(hooks, backend, [])], timeout=60, force_conflicts=True)
    assert results[hooks].outcome == "applied" and results[hooks].updated == 1
    results = converge(kube, other_set, [(consumer, [gated], [])], timeout=60)
    assert results[consumer].outcome == "applied", results[consumer].error
    assert kube.get(gated) is not None


def test_ssa_conflict_names_the_other_manager_and_force_takes_over(kube: Cluster, namespace: str):
    app = unique("ssa")
    ours = configmap("shared", namespace, app, mode="ours")
    assert converge(kube, app, [(app, [ours], [])])[app].outcome == "applied"
    theirs = {"apiVersion": "v1", "kind": "ConfigMap",
              "metadata": {"name": "shared", "namespace": namespace}, "data": {"mode": "theirs"}}
    kube.apply(theirs, field_manager="platform-team", force=True)

    changed = configmap("shared", namespace, app, mode="ours-v2")
    result = converge(kube, app, [(app, [changed], [])])[app]
    assert result.outcome == "failed"
    assert "platform-team" in result.error and "--force-conflicts" in result.error
    assert kube.get(changed)["data"]["mode"] == "theirs"

    result = converge(kube, app, [(app, [changed], [])], force_conflicts=True)[app]
    assert result.outcome == "applied", result.error
    assert kube.get(changed)["data"]["mode"] == "ours-v2"


def test_prune_keeps_data_and_deletes_the_rest(kube: Cluster):
    app, ns = unique("prunable"), unique("t-prune")
    namespace = labelled({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}, app)
    pvc = labelled({"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                    "metadata": {"name": "data", "namespace": ns},
                    "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}},
                   app)
    crd = widget_crd(app, "sprockets", "Sprocket")
    objs = [namespace, pvc, crd, configmap("settings", ns, app, a="1")]
    name = unique("prune")
    assert converge(kube, name, [(app, objs, [])], timeout=60)[app].outcome == "applied"
    # A user's custom resource, not ours: the CRD must survive the prune for it.
    kube.apply({"apiVersion": f"{GROUP}/v1", "kind": "Sprocket",
                "metadata": {"name": "users", "namespace": ns}, "spec": {}}, field_manager="user")

    engine = Engine(kube, name, "v2", ApplyOptions())
    plan = engine.plan([])  # the application was removed from the spec
    actions = {c.label: c.action for p in plan.removed for c in p.changes}
    assert actions[f"ConfigMap/{ns}/settings"] == "delete"
    assert actions[f"PersistentVolumeClaim/{ns}/data"] == "keep"
    assert actions[f"CustomResourceDefinition/sprockets.{GROUP}"] == "keep"
    assert actions[f"Namespace/{ns}"] == "keep"
    result = {r.name: r for r in engine.apply(plan)}[app]
    assert result.outcome == "pruned" and result.deleted == 1
    assert kube.get(configmap("settings", ns, app)) is None
    assert kube.get(pvc) is not None and kube.get(crd) is not None
    reasons = dict(result.kept)
    assert "--prune-pvcs" in reasons[f"PersistentVolumeClaim/{ns}/data"]
    assert "custom resource" in reasons[f"CustomResourceDefinition/sprockets.{GROUP}"]

    # Asked explicitly, data goes too; the user's CR still protects its CRD.
    engine = Engine(kube, name, "v3", ApplyOptions(rules=PruneRules(prune_pvcs=True)))
    engine.apply(engine.plan([]))
    pvc_live = kube.get(pvc)
    assert pvc_live is None or pvc_live["metadata"].get("deletionTimestamp")
    assert kube.get(crd) is not None


def test_a_failed_application_stops_its_dependents_only(kube: Cluster, namespace: str):
    stuck, child, other = unique("stuck"), unique("child"), unique("other")
    apps = [
        (stuck, [deployment("never", namespace, stuck, node_selector={"no-such-node": "true"})], []),
        (child, [configmap("child", namespace, child, a="1")], [stuck]),
        (other, [configmap("other", namespace, other, a="1")], []),
    ]
    results = converge(kube, unique("fail"), apps, timeout=3)
    assert results[stuck].outcome == "failed"
    assert any("never" in u.object for u in results[stuck].unhealthy)
    assert results[child].outcome == "skipped" and stuck in results[child].error
    assert results[other].outcome == "applied"
    assert kube.get(configmap("child", namespace, child)) is None


def test_a_crash_looping_pod_fails_its_application_fast(kube: Cluster, namespace: str):
    app = unique("crashy")
    objs = [deployment("crashy", namespace, app)]
    assert converge(kube, app, [(app, objs, [])], timeout=60)[app].outcome == "applied"
    # Simulated pods never crash by themselves: report the container as crash-looping, as the
    # kubelet would.
    [pod] = kube.list("v1", "Pod", namespace=namespace, label_selector="app.kubernetes.io/name=crashy")
    kube.call("PATCH", f"/api/v1/namespaces/{namespace}/pods/{pod['metadata']['name']}/status",
              content_type="application/merge-patch+json", body={"status": {
                  "conditions": [{"type": "Ready", "status": "False"},
                                 {"type": "ContainersReady", "status": "False"}],
                  "containerStatuses": [{"name": "main", "image": "registry.k8s.io/pause:3.10", "imageID": "",
                                         "ready": False, "restartCount": 6, "started": False,
                                         "state": {"waiting": {"reason": "CrashLoopBackOff",
                                                               "message": "back-off 5m0s restarting"}}}]}})
    changed = deployment("crashy", namespace, app)
    changed["metadata"]["annotations"] = {"example.com/revision": "2"}
    result = converge(kube, app, [(app, [changed], [])], timeout=300)[app]
    assert result.outcome == "failed"
    [bad] = result.unhealthy
    assert bad.object == f"Deployment/{namespace}/crashy"
    assert "CrashLoopBackOff" in bad.reason and "main" in bad.reason
    assert "before the timeout" not in result.error  # it failed on the crash, not by waiting out


def test_pods_refused_by_pod_security_fail_their_application_fast(kube: Cluster, namespace: str):
    app = unique("refused")
    kube.call("PATCH", f"/api/v1/namespaces/{namespace}", content_type="application/merge-patch+json",
              body={"metadata": {"labels": {"pod-security.kubernetes.io/enforce": "restricted"}}})
    result = converge(kube, app, [(app, [deployment("unhardened", namespace, app)], [])], timeout=300)[app]
    assert result.outcome == "failed"
    [bad] = result.unhealthy
    assert bad.object == f"Deployment/{namespace}/unhardened"
    assert "violates PodSecurity" in bad.reason
    assert "before the timeout" not in result.error  # refused pods never come: said at once


def test_objects_from_kubectl_client_side_apply_are_taken_over(kube: Cluster, cluster: Any, namespace: str):
    import json
    import subprocess

    from kfdeploy.tools import find_tool, tool_env
    legacy = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "legacy", "namespace": namespace},
              "data": {"mode": "old", "dropped": "yes"}}
    done = subprocess.run([find_tool("kubectl"), "--kubeconfig", str(cluster.kubeconfig), "apply", "-f", "-"],
                          input=json.dumps(legacy), capture_output=True, text=True, env=tool_env())
    assert done.returncode == 0, done.stderr
    app = unique("adopt")
    ours = configmap("legacy", namespace, app, mode="new")  # a different value, and "dropped" left out
    result = converge(kube, app, [(app, [ours], [])])[app]
    assert result.outcome == "applied", result.error
    live = kube.get(ours)
    assert live["data"] == {"mode": "new"}
    assert "kubectl.kubernetes.io/last-applied-configuration" not in live["metadata"].get("annotations", {})
    assert {e["manager"] for e in live["metadata"]["managedFields"]} == {"kfdeploy"}


def test_an_object_moved_to_another_application_is_kept(kube: Cluster, namespace: str):
    """A release that moves a folder from one application to another (or renames the
    application) hands its objects over: the old owner's prune must not delete them."""
    name, old, new = unique("move"), unique("old"), unique("new")
    moving = lambda app: configmap("moving", namespace, app, a="1")  # noqa: E731
    assert converge(kube, name, [(old, [moving(old), configmap("stays", namespace, old)], [])])[old].outcome == "applied"
    results = converge(kube, name, [(new, [moving(new)], [])])  # old removed from the spec, new takes it
    assert results[new].outcome == "applied" and results[old].outcome == "pruned"
    live = kube.get(moving(new))
    assert live is not None and live["metadata"]["labels"]["kfdeploy.io/application"] == new
    assert kube.get(configmap("stays", namespace, old)) is None  # what only the old one had is pruned
