"""Synthetic applications of a chosen size, shaped like the official manifests.

Every 250 objects make one application: a namespace, one large CRD (an openAPIV3Schema of
~300 KB, like kserve's, whose pod specs are inlined many times over), three small CRDs and
custom resources of them, RBAC, ConfigMaps, Services, Deployments and StatefulSets. Each
application is a jsonnet component folder that imports its objects from JSON, so the render
step costs little and the measurement is about applying. The output is deterministic.

    python bench/synth.py --objects 1000 -o DIR [--name kfdeploy-bench-scale]

DIR then holds ``kfdef.yaml`` (kwok platform, enough simulated nodes for the pods) and one
folder per application.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path
from typing import Any

import yaml

PER_APP = 250
GROUP = "bench.kfdeploy.io"
# Objects of each kind in one application of PER_APP objects (custom resources fill the rest).
MIX = {"ServiceAccount": 20, "Role": 20, "RoleBinding": 20, "ClusterRole": 10, "ClusterRoleBinding": 10,
       "ConfigMap": 50, "Service": 40, "Deployment": 40, "StatefulSet": 5}
SMALL_CRDS = 3
SENTENCE = ("the name of the field as the controller reads it when it reconciles the resource and "
            "reports the observed state back in status conditions with a reason and a message")
WORDS = SENTENCE.split(" ")


def describe(seed: int, words: int = 30) -> str:
    return " ".join(WORDS[(seed + i * 7) % len(WORDS)] for i in range(words)).capitalize() + "."


def leaf(kind: str, seed: int) -> dict[str, Any]:
    return {"type": kind, "description": describe(seed)}


def container_schema(seed: int) -> dict[str, Any]:
    """A container spec, described field by field, as CRDs embedding a PodSpec carry it."""
    env = {"type": "array", "description": describe(seed + 1), "items": {"type": "object", "required": ["name"],
           "properties": {"name": leaf("string", seed + 2), "value": leaf("string", seed + 3),
                          "valueFrom": {"type": "object", "description": describe(seed + 4), "properties": {
                              f"{src}KeyRef": {"type": "object", "description": describe(seed + 5), "properties": {
                                  "key": leaf("string", seed + 6), "name": leaf("string", seed + 7),
                                  "optional": leaf("boolean", seed + 8)}} for src in ("configMap", "secret")}}}}}
    probe = {"type": "object", "description": describe(seed + 9), "properties": {
        f: leaf("integer", seed + i) for i, f in enumerate(
            ("failureThreshold", "initialDelaySeconds", "periodSeconds", "successThreshold", "timeoutSeconds"))}
        | {"httpGet": {"type": "object", "description": describe(seed + 10), "properties": {
            "path": leaf("string", seed + 11), "port": {"x-kubernetes-int-or-string": True,
                                                        "description": describe(seed + 12)},
            "scheme": leaf("string", seed + 13)}}}}
    resources = {"type": "object", "description": describe(seed + 14), "properties": {
        r: {"type": "object", "description": describe(seed + 15), "additionalProperties": {
            "x-kubernetes-int-or-string": True, "anyOf": [{"type": "integer"}, {"type": "string"}]}}
        for r in ("limits", "requests")}}
    return {"type": "object", "required": ["name"], "description": describe(seed + 16), "properties": {
        "name": leaf("string", seed), "image": leaf("string", seed + 17), "args": {
            "type": "array", "items": {"type": "string"}, "description": describe(seed + 18)},
        "command": {"type": "array", "items": {"type": "string"}, "description": describe(seed + 19)},
        "env": env, "livenessProbe": probe, "readinessProbe": probe, "startupProbe": probe,
        "resources": resources, "workingDir": leaf("string", seed + 20),
        "ports": {"type": "array", "description": describe(seed + 21), "items": {"type": "object", "properties": {
            "containerPort": leaf("integer", seed + 22), "name": leaf("string", seed + 23),
            "protocol": leaf("string", seed + 24)}}}}}


def pod_spec_schema(seed: int) -> dict[str, Any]:
    containers = {"type": "array", "description": describe(seed), "items": container_schema(seed)}
    return {"type": "object", "description": describe(seed + 1), "properties": {
        "containers": containers, "initContainers": containers, "serviceAccountName": leaf("string", seed + 2),
        "nodeSelector": {"type": "object", "additionalProperties": {"type": "string"},
                         "description": describe(seed + 3)},
        "minReplicas": leaf("integer", seed + 4), "maxReplicas": leaf("integer", seed + 5)}}


def kind_prefix(app: str) -> str:
    """Kinds are unique within the group: two CRDs of one kind would conflict."""
    return "".join(part.capitalize() for part in app.split("-"))


def large_crd(app: str, index: int) -> dict[str, Any]:
    """~300 KB: four components, each with a pod spec, in two served versions."""
    plural, kind = f"{app.replace('-', '')}services{index}", f"{kind_prefix(app)}Service{index}"
    components = {c: pod_spec_schema(index * 10 + i) for i, c in enumerate(
        ("predictor", "transformer", "explainer", "router", "batcher", "logger"))}
    schema = {"type": "object", "properties": {
        "apiVersion": {"type": "string"}, "kind": {"type": "string"}, "metadata": {"type": "object"},
        "spec": {"type": "object", "properties": components},
        "status": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}}}
    versions = [{"name": v, "served": True, "storage": v == "v1beta1", "subresources": {"status": {}},
                 "schema": {"openAPIV3Schema": schema}} for v in ("v1alpha1", "v1beta1")]
    return crd(plural, kind, versions)


def small_crd(app: str, index: int) -> dict[str, Any]:
    plural, kind = f"{app.replace('-', '')}widgets{index}", f"{kind_prefix(app)}Widget{index}"
    schema = {"type": "object", "properties": {"spec": {"type": "object", "properties": {
        "size": leaf("integer", index), "mode": leaf("string", index + 1)}},
        "status": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}}}
    return crd(plural, kind, [{"name": "v1", "served": True, "storage": True,
                                "schema": {"openAPIV3Schema": schema}}])


def crd(plural: str, kind: str, versions: list[dict[str, Any]]) -> dict[str, Any]:
    return {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": f"{plural}.{GROUP}"},
            "spec": {"group": GROUP, "scope": "Namespaced", "versions": versions,
                     "names": {"plural": plural, "singular": plural[:-1] if plural.endswith("s") else plural,
                               "kind": kind, "listKind": f"{kind}List"}}}


def workload(kind: str, name: str, ns: str, i: int) -> dict[str, Any]:
    labels = {"app": name}
    container = {"name": "main", "image": f"registry.example/bench/{name}:v1.{i % 7}",
                 "args": [f"--port={8000 + i % 100}", "--log-level=info"],
                 "env": [{"name": f"SETTING_{j}", "value": f"value-{i}-{j}"} for j in range(6)],
                 "ports": [{"containerPort": 8000 + i % 100, "name": "http"}],
                 "readinessProbe": {"httpGet": {"path": "/healthz", "port": "http"}, "periodSeconds": 10},
                 "resources": {"requests": {"cpu": "10m", "memory": "32Mi"}}}
    spec: dict[str, Any] = {"replicas": 1, "selector": {"matchLabels": labels},
                            "template": {"metadata": {"labels": labels},
                                         "spec": {"serviceAccountName": f"sa-{i % MIX['ServiceAccount']}",
                                                  "containers": [container]}}}
    if kind == "StatefulSet":
        spec["serviceName"] = name
    return {"apiVersion": "apps/v1", "kind": kind, "metadata": {"name": name, "namespace": ns}, "spec": spec}


def namespaced(kind: str, app: str, ns: str, i: int) -> dict[str, Any]:
    meta = {"name": f"{kind.lower()}-{i}", "namespace": ns}
    if kind == "ServiceAccount":
        return {"apiVersion": "v1", "kind": kind, "metadata": {**meta, "name": f"sa-{i}"}}
    if kind == "Role":
        return {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": kind, "metadata": meta, "rules": [
            {"apiGroups": ["", "apps"], "resources": ["pods", "configmaps", "deployments"],
             "verbs": ["get", "list", "watch"]}]}
    if kind == "RoleBinding":
        return {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": kind, "metadata": meta,
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": f"role-{i}"},
                "subjects": [{"kind": "ServiceAccount", "name": f"sa-{i}", "namespace": ns}]}
    if kind == "ConfigMap":
        return {"apiVersion": "v1", "kind": kind, "metadata": meta,
                "data": {f"key-{j}.yaml": describe(i + j, 60) for j in range(4)}}
    if kind == "Service":
        return {"apiVersion": "v1", "kind": kind, "metadata": {**meta, "name": f"deployment-{i}"},
                "spec": {"selector": {"app": f"deployment-{i}"}, "ports": [{"name": "http", "port": 80,
                                                                           "targetPort": "http"}]}}
    return workload(kind, f"{kind.lower()}-{i}", ns, i)


def cluster_rbac(kind: str, app: str, ns: str, i: int) -> dict[str, Any]:
    name = f"{app}-{i}"
    if kind == "ClusterRole":
        return {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": kind, "metadata": {"name": name}, "rules": [
            {"apiGroups": [GROUP], "resources": ["*"], "verbs": ["get", "list", "watch", "update"]}]}
    return {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": kind, "metadata": {"name": name},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": name},
            "subjects": [{"kind": "ServiceAccount", "name": f"sa-{i}", "namespace": ns}]}


def application(app: str, size: int) -> list[dict[str, Any]]:
    """``size`` objects (at most PER_APP) of one application, in no particular order."""
    ns = app
    objs: list[dict[str, Any]] = [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}},
                                  large_crd(app, 0)]
    smalls = [small_crd(app, i) for i in range(SMALL_CRDS)]
    objs += smalls
    scale = size / PER_APP
    for kind, count in MIX.items():
        make = cluster_rbac if kind.startswith("Cluster") else namespaced
        objs += [make(kind, app, ns, i) for i in range(max(1, round(count * scale)))]
    i = 0
    while len(objs) < size:
        names = smalls[i % SMALL_CRDS]["spec"]["names"]
        objs.append({"apiVersion": f"{GROUP}/v1", "kind": names["kind"],
                     "metadata": {"name": f"{names['singular']}-{i}", "namespace": ns},
                     "spec": {"size": i, "mode": "fast" if i % 2 else "safe"}})
        i += 1
    return objs[:size]


def pods(objs: list[dict[str, Any]]) -> int:
    return sum(o["spec"]["replicas"] for o in objs if o["kind"] in ("Deployment", "StatefulSet"))


def kfdef(name: str, apps: list[str], nodes: int) -> dict[str, Any]:
    return {"apiVersion": "kfdef.apps.kubeflow.org/v1", "kind": "KfDef",
            "metadata": {"name": name, "namespace": "kubeflow"},
            "spec": {"platform": {"kind": "kwok", "kwok": {"nodePools": [
                {"name": "cpu", "count": nodes, "cpu": "64", "memory": "256Gi"}]}},
                "applications": [{"name": a, "jsonnet": {"path": f"./{a}"}} for a in apps]}}


def generate(total: int, out: Path, name: str) -> Path:
    """Write the applications and their kfdef.yaml under ``out``; returns the spec path."""
    count = max(1, math.ceil(total / PER_APP))
    apps, pod_count = [], 0
    for a in range(count):
        app = f"synth-{a:02d}"
        objs = application(app, min(PER_APP, total - a * PER_APP))
        pod_count += pods(objs)
        folder = out / app
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "objects.json").write_text(json.dumps(objs, separators=(",", ":")))
        (folder / "main.jsonnet").write_text("function(params) import 'objects.json'\n")
        (folder / "component.yaml").write_text(yaml.safe_dump({
            "description": f"synthetic application {app} ({len(objs)} objects)", "params": {}}))
        apps.append(app)
    spec = out / "kfdef.yaml"
    spec.write_text(yaml.safe_dump(kfdef(name, apps, nodes=pod_count // 100 + 1), sort_keys=False))
    return spec


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, required=True)
    parser.add_argument("-o", "--out", type=Path, required=True)
    parser.add_argument("--name", default="kfdeploy-bench-scale")
    args = parser.parse_args()
    spec = generate(args.objects, args.out, args.name)
    size = sum(f.stat().st_size for f in args.out.rglob("objects.json"))
    print(f"{spec}: {args.objects} objects, {size / 1e6:.1f} MB of JSON")


if __name__ == "__main__":
    main()
