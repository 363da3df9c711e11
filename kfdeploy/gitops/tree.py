"""Engine-neutral facts of an export, each read from the rules kfdeploy already keeps.

- Objects that hold a credential (a generated one or a ``spec.secrets`` value, placeholders in an
  offline render) never go to Git: they are *seeded* into the cluster by
  ``kfdeploy credentials seed`` and referenced from the tree. Only Secrets may hold them.
- Objects are written as ``apply`` applies them (``kube.inventory.as_applied``) and carry
  kfdeploy's content hash (``kfdeploy.io/hash``), so ``plan`` and ``status`` judge what an engine
  applied exactly as what ``apply`` applied; the ApplySet label, which names the
  cluster's KfDef, is added by the engine (Flux ``commonMetadata``, Argo CD kustomize labels) so
  an application's files stay identical across clusters.
- Waves follow the application graph; prune protections and waits follow ``kfdeploy.kinds``.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from kfdeploy.errors import RenderError
from kfdeploy.kinds import API_SERVICE, CRD, HPA, SCALABLE, SECRET, WEBHOOK_KINDS, group_kind, rule_of
from kfdeploy.kube.inventory import applyset_id, with_hash
from kfdeploy.objects import describe_key, object_key
from kfdeploy.render import Rendered

Obj = dict[str, Any]
PLACEHOLDER = re.compile(r"<(?:generated|secret):[^<>\s]+>")
"""The offline render's stand-ins for credential values (kfdeploy.credentials)."""


@dataclass(frozen=True)
class ControllerField:
    """A field of one object that a controller writes after the engine applied it."""

    obj: Obj
    json_pointers: tuple[str, ...] = ()
    jq_paths: tuple[str, ...] = ()
    why: str = ""


@dataclass(frozen=True)
class ExportedApp:
    name: str
    objects: list[Obj]  # what goes to Git, hash-stamped, in apply order
    seeded: list[Obj]  # Secrets that hold credentials: seeded, never in Git
    depends_on: list[str]
    wave: int
    namespace: str

    def protected(self) -> list[Obj]:
        return [o for o in self.objects if protection(o)]

    def waits(self) -> bool:
        """Whether kfdeploy waits on any of its objects (so the engine must too)."""
        return any(waited(o) for o in self.objects)


@dataclass(frozen=True)
class ClusterExport:
    """One KfDef's export: its cluster name is the KfDef's name."""

    cluster: str
    applyset: str
    apps: list[ExportedApp] = field(default_factory=list)

    def by_name(self) -> dict[str, ExportedApp]:
        return {a.name: a for a in self.apps}


def holds_credential(obj: Mapping[str, Any]) -> bool:
    return bool(PLACEHOLDER.search(json.dumps(obj)))


def protection(obj: Mapping[str, Any]) -> str:
    """Why an engine must never prune this object ('' if it may): PVCs (data), CRDs (their
    custom resources) and Namespaces (everything in them, the PVCs above included)."""
    return rule_of(obj).protection


def waited(obj: Mapping[str, Any]) -> bool:
    wait = rule_of(obj).wait
    return wait == "health" or (wait == "load-balancer" and (obj.get("spec") or {}).get("type") == "LoadBalancer")


def waves(graph: Mapping[str, Iterable[str]]) -> dict[str, int]:
    """Each application's wave: 0 without dependencies, else one more than its latest one."""
    out: dict[str, int] = {}

    def wave(name: str) -> int:
        if name not in out:
            out[name] = 1 + max((wave(d) for d in graph[name] if d in graph), default=-1)
        return out[name]

    for name in graph:
        wave(name)
    return out


def split(name: str, objects: Iterable[Obj]) -> tuple[list[Obj], list[Obj]]:
    """(objects for Git, Secrets to seed); a credential anywhere but in a Secret is an error."""
    tree: list[Obj] = []
    seeded: list[Obj] = []
    for obj in objects:
        if not holds_credential(obj):
            tree.append(obj)
        elif group_kind(obj) == SECRET:
            seeded.append(obj)
        else:
            raise RenderError(
                f"application '{name}': {describe_key(object_key(obj))} holds a credential outside a"
                " Secret; export keeps credentials out of Git by seeding Secrets, and cannot seed this",
                hint="have the source read the value from a Secret, or deploy this application with apply")
    return tree, seeded


def cluster_export(cluster: str, rendered: Rendered) -> ClusterExport:
    graph = {a.name: a.depends_on for a in rendered.applications}
    wave_of = waves(graph)
    apps = []
    for app in rendered.applications:
        tree, seeded = split(app.name, app.objects)
        apps.append(ExportedApp(app.name, [with_hash(o) for o in tree], seeded, list(app.depends_on),
                                wave_of[app.name], app.namespace))
    return ClusterExport(cluster, applyset_id(cluster), apps)


def as_exported(rendered: Rendered, offline: Rendered) -> Rendered:
    """What an engine and ``credentials seed`` put in the cluster: the export's objects (an
    offline render: its pod templates carry the checksums of placeholders), and the seeded
    Secrets as the cluster holds them. ``plan`` compares a GitOps-managed cluster with this."""
    apps = []
    for real, exported in zip(rendered.applications, offline.applications, strict=True):
        seeded = {object_key(s) for s in split(exported.name, exported.objects)[1]}
        by_key = {object_key(o): o for o in real.objects}
        objects = [by_key.get(object_key(o), o) if object_key(o) in seeded else o for o in exported.objects]
        apps.append(dataclasses.replace(real, objects=objects))
    return Rendered(apps)


# -- fields controllers own ------------------------------------------------------------------------

def controller_fields(objects: list[Obj]) -> list[ControllerField]:
    """Fields the render shows a controller will write: webhook, conversion and APIService
    ``caBundle`` (cert-manager's cainjector, or the component itself), and ``spec.replicas`` of
    workloads an autoscaler scales."""
    out: list[ControllerField] = []
    scaled = {(o["metadata"].get("namespace", ""), (o.get("spec") or {}).get("scaleTargetRef", {}).get("name"))
              for o in objects if group_kind(o) == HPA}
    for obj in objects:
        gk = group_kind(obj)
        spec = obj.get("spec") or {}
        if gk in WEBHOOK_KINDS:
            out.append(ControllerField(obj, jq_paths=(".webhooks[]?.clientConfig.caBundle",),
                                       why="webhook caBundle is injected"))
        elif gk == CRD and (spec.get("conversion") or {}).get(
                "strategy") == "Webhook":
            out.append(ControllerField(obj, json_pointers=("/spec/conversion/webhook/clientConfig/caBundle",),
                                       why="conversion webhook caBundle is injected"))
        elif gk == API_SERVICE and spec.get("service"):
            out.append(ControllerField(obj, json_pointers=("/spec/caBundle",), why="APIService caBundle is injected"))
        elif gk in SCALABLE and (obj["metadata"].get("namespace", ""), obj["metadata"]["name"]) in scaled:
            out.append(ControllerField(obj, json_pointers=("/spec/replicas",), why="an autoscaler sets replicas"))
    return out
