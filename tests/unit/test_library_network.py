"""NetworkPolicies of the built-in library, evaluated as a CNI would (ingress rules, Kubernetes
semantics: a pod selected by any policy admits only what some rule allows).

kwok enforces no NetworkPolicy, so a policy that shuts out the ingress gateway or the API server's
webhook calls only breaks on a real cluster. Each namespace the library creates must be covered, and
the flows the platform needs must stay open: the gateway to every routed Service, anyone (the API
server) to every webhook, every namespace to istiod, profile namespaces to the pipeline and Katib
backends they call (as upstream's kubeflow policies allow), Prometheus to what it scrapes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from kfdeploy.library import Library, default_root
from kfdeploy.render import render
from kfdeploy.spec import KfDef

REPO = Path(__file__).resolve().parents[2]
ROOT = default_root()
COMPONENTS = sorted(d.name for d in (ROOT / "jsonnet" / "components").iterdir() if (d / "main.jsonnet").exists())
Obj = dict[str, Any]
NAME_LABEL = "kubernetes.io/metadata.name"
PROFILE = "kubeflow-user-example-com"  # a profile namespace (created by the profile controller)
# What pods in profile namespaces call in kubeflow (pipeline steps, Katib trials), as upstream allows.
PROFILE_CALLS = [("ml-pipeline", 8887), ("ml-pipeline", 8888), ("metadata-grpc-service", 8080),
                 ("minio-service", 9000), ("katib-db-manager", 6789)]


@dataclass(frozen=True)
class Source:
    """Where traffic comes from: a pod (namespace and labels) or outside any pod (None)."""

    namespace: str | None
    labels: Mapping[str, str]


OUTSIDE = Source(None, {})  # the API server calling a webhook, a load balancer


def matches(selector: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    ok = all(labels.get(k) == v for k, v in (selector.get("matchLabels") or {}).items())
    for e in selector.get("matchExpressions") or []:
        has, value = e["key"] in labels, labels.get(e["key"])
        ok &= {"In": has and value in e.get("values", []), "NotIn": value not in e.get("values", []),
               "Exists": has, "DoesNotExist": not has}[e["operator"]]
    return ok


class Cluster:
    def __init__(self, objects: list[Obj]) -> None:
        self.objects = objects
        self.ns_labels: dict[str, dict[str, str]] = {
            o["metadata"]["name"]: {**(o["metadata"].get("labels") or {}), NAME_LABEL: o["metadata"]["name"]}
            for o in objects if o["kind"] == "Namespace"}
        profile_cm = self.find("ConfigMap", "namespace-labels-data")
        self.ns_labels[PROFILE] = {**yaml.safe_load(profile_cm["data"]["namespace-labels.yaml"]), NAME_LABEL: PROFILE}
        self.policies = [o for o in objects if o["kind"] == "NetworkPolicy"]
        self.pods = [(o["metadata"]["namespace"], o["spec"]["template"]) for o in objects
                     if o["kind"] in ("Deployment", "StatefulSet", "DaemonSet")]

    def find(self, kind: str, name: str, ns: str | None = None) -> Obj:
        found = [o for o in self.objects if o["kind"] == kind and o["metadata"]["name"] == name
                 and ns in (None, o["metadata"].get("namespace"))]
        assert len(found) == 1, f"{kind} {ns}/{name}: {len(found)}"
        return found[0]

    def peer_matches(self, peer: Mapping[str, Any], src: Source, policy_ns: str) -> bool:
        if src.namespace is None:
            return "ipBlock" in peer
        if "namespaceSelector" in peer:
            ns_ok = matches(peer["namespaceSelector"], self.ns_labels.get(src.namespace, {NAME_LABEL: src.namespace}))
        else:
            ns_ok = src.namespace == policy_ns
        return ns_ok and matches(peer.get("podSelector") or {}, src.labels) if "podSelector" in peer else ns_ok

    def admits(self, ns: str, pod: Obj, port: int, src: Source) -> bool:
        labels = pod["metadata"].get("labels") or {}
        selecting = [p for p in self.policies if p["metadata"]["namespace"] == ns
                     and matches(p["spec"]["podSelector"], labels)]
        if not selecting:
            return True
        names = {p.get("name") for c in pod["spec"]["containers"] for p in c.get("ports", []) if p["containerPort"] == port}
        return any(("ports" not in rule or any(p["port"] == port or p["port"] in names for p in rule["ports"]))
                   and ("from" not in rule or any(self.peer_matches(peer, src, ns) for peer in rule["from"]))
                   for p in selecting for rule in p["spec"].get("ingress") or [])

    def backends(self, ns: str, service: str, port: int | None = None) -> list[tuple[Obj, int]]:
        """The pods behind a Service port and the container port traffic reaches them on."""
        svc = self.find("Service", service, ns)
        out = []
        for sp in svc["spec"]["ports"]:
            if port is not None and sp["port"] != port:
                continue
            for pns, pod in self.pods:
                if pns == ns and matches({"matchLabels": svc["spec"]["selector"]}, pod["metadata"]["labels"]):
                    target = sp.get("targetPort", sp["port"])
                    if isinstance(target, str):
                        target = next(p["containerPort"] for c in pod["spec"]["containers"]
                                      for p in c.get("ports", []) if p.get("name") == target)
                    out.append((pod, target))
        assert out, f"Service {ns}/{service} port {port} has no pods"
        return out

    def blocked(self, ns: str, service: str, port: int | None, src: Source) -> list[str]:
        return [f"{src.namespace or 'outside'} -> {ns}/{service}:{target}" for pod, target in self.backends(ns, service, port)
                if not self.admits(ns, pod, target, src)]


@pytest.fixture(scope="module")
def library() -> Library:
    return Library.load(ROOT)


@pytest.fixture(scope="module")
def cluster(library: Library) -> Cluster:
    doc = {"apiVersion": "kfdef.apps.kubeflow.org/v1", "kind": "KfDef", "metadata": {"name": "net"},
           "spec": {"platform": {"kind": "gke", "gke": {"project": "p", "location": "us-central1-a"}},
                    "applications": [{"name": c} for c in COMPONENTS]}}
    return Cluster(render(KfDef.model_validate(doc).with_origin("kfdef.yaml", REPO), library).objects)


def gateway(cluster: Cluster) -> Source:
    pod = cluster.find("Deployment", "istio-ingressgateway")
    return Source(pod["metadata"]["namespace"], pod["spec"]["template"]["metadata"]["labels"])


def test_every_namespace_and_pod_is_covered(cluster: Cluster) -> None:
    created = set(cluster.ns_labels) - {PROFILE}
    covered = {p["metadata"]["namespace"] for p in cluster.policies}
    assert created - covered == set()
    unselected = [f"{ns}/{pod['metadata']['labels']}" for ns, pod in cluster.pods if ns in created
                  and not any(p["metadata"]["namespace"] == ns and matches(p["spec"]["podSelector"], pod["metadata"]["labels"])
                              for p in cluster.policies)]
    assert unselected == []


def test_pods_reach_their_own_namespace(cluster: Cluster) -> None:
    blocked = [f"{ns}/{pod['metadata']['labels'].get('app.kubernetes.io/name')}:{p['containerPort']}"
               for ns, pod in cluster.pods for c in pod["spec"]["containers"] for p in c.get("ports", [])
               if not cluster.admits(ns, pod, p["containerPort"], Source(ns, {"any": "pod"}))]
    assert blocked == []


def test_gateway_reaches_every_routed_service(cluster: Cluster) -> None:
    routes = [(vs["metadata"]["namespace"], r["destination"]) for vs in cluster.objects if vs["kind"] == "VirtualService"
              for h in vs["spec"].get("http", []) for r in h.get("route", [])]
    assert len(routes) >= 10
    blocked = [b for _, dest in routes for b in cluster.blocked(
        dest["host"].split(".")[1], dest["host"].split(".")[0], dest.get("port", {}).get("number"), gateway(cluster))]
    assert blocked == []


def test_api_server_reaches_every_webhook(cluster: Cluster) -> None:
    services = {(h["clientConfig"]["service"]["namespace"], h["clientConfig"]["service"]["name"],
                 h["clientConfig"]["service"].get("port", 443))
                for o in cluster.objects if o["kind"].endswith("WebhookConfiguration") for h in o["webhooks"]}
    assert len(services) >= 7
    assert [b for ns, name, port in services for b in cluster.blocked(ns, name, port, OUTSIDE)] == []


def test_load_balancer_and_every_namespace_reach_the_mesh(cluster: Cluster) -> None:
    ns = cluster.find("Deployment", "istiod")["metadata"]["namespace"]
    blocked = cluster.blocked(ns, "istio-ingressgateway", 80, OUTSIDE)
    blocked += [b for src in [*cluster.ns_labels, PROFILE] for port in (15010, 15012)
                for b in cluster.blocked(ns, "istiod", port, Source(src, {"app": "injected"}))]
    assert blocked == []


def test_profile_namespaces_reach_the_backends_they_call(cluster: Cluster) -> None:
    ns = cluster.find("Deployment", "ml-pipeline")["metadata"]["namespace"]
    step = Source(PROFILE, {"workflows.argoproj.io/workflow": "run"})
    assert [b for svc, port in PROFILE_CALLS for b in cluster.blocked(ns, svc, port, step)] == []


def test_prometheus_reaches_the_kubeflow_namespace(cluster: Cluster) -> None:
    prometheus = cluster.find("Deployment", "prometheus")
    src = Source(prometheus["metadata"]["namespace"], prometheus["spec"]["template"]["metadata"]["labels"])
    ns = cluster.find("Deployment", "ml-pipeline")["metadata"]["namespace"]
    blocked = [f"{pod['metadata']['labels'].get('app.kubernetes.io/name')}:{p['containerPort']}"
               for pns, pod in cluster.pods if pns == ns for c in pod["spec"]["containers"] for p in c.get("ports", [])
               if not cluster.admits(ns, pod, p["containerPort"], src)]
    assert blocked == []


def test_foreign_namespaces_are_shut_out(cluster: Cluster) -> None:
    """Default deny holds: a pod of some other namespace reaches no kubeflow backend on a port
    nothing opened for it (the policies are not allow-all)."""
    stranger = Source("default", {"app": "stranger"})
    ns = cluster.find("Deployment", "ml-pipeline")["metadata"]["namespace"]
    assert cluster.blocked(ns, "mysql", None, stranger) != []
    assert cluster.blocked("auth", "dex", None, stranger) != []
