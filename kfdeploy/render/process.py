"""From an evaluated source (jsonnet value, helm or kustomize output) to clean, labelled,
ordered Kubernetes objects.

A short pure chain in the manner of Tanka's ``process``: extract -> validate -> namespace ->
label -> canonical key order -> sort -> secret checksums, plus the duplicate check across
applications. Labels follow the policy in kfdeploy.labels: what a source set is never changed,
selectors and pod templates are never touched, but for kfdeploy's own checksum annotation in
components that declare credentials (a changed credential rolls the pods that read it).
Nothing here touches a cluster, so every rule is tested over plain dicts.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from kfdeploy.credentials import checksum
from kfdeploy.errors import RenderError
from kfdeploy.kinds import CLUSTER_SCOPED, CRD, SECRET, group_kind, kinds_where, rule_for, rule_of
from kfdeploy.kinds import pod_template as template_of
from kfdeploy.labels import SECRETS_CHECKSUM, bookkeeping
from kfdeploy.objects import ObjectKey, describe, object_key, sort_key
from kfdeploy.render import shape
from kfdeploy.selectors import matches, workload_selector

Obj = dict[str, Any]

# Workloads whose required selector must select their own pod template.
SELECTING_KINDS = kinds_where(pods="required")
DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
DNS_1035 = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
FIRST_KEYS = ("apiVersion", "kind", "metadata")
FIRST_META_KEYS = ("name", "namespace", "labels", "annotations")


@dataclass(frozen=True)
class Context:
    """What the chain needs to know about the application being processed."""

    application: str
    namespace: str
    cluster_kinds: frozenset[tuple[str, str]] = CLUSTER_SCOPED  # (group, kind), see cluster_scoped_kinds
    checksum_key: bytes = b""  # empty: no secret checksums (sources that declare no credentials)


def is_object(value: Any) -> bool:
    return isinstance(value, dict) and "apiVersion" in value and "kind" in value


def extract(value: Any) -> list[Obj]:
    """Every Kubernetes object in a list / nested-object tree; nulls are dropped and ``List``
    objects unwrapped. Any other leaf is a component bug, reported with its path; so is an
    object of the wrong shape (``render.shape``), reported with its index, kind and name."""
    objects = _extract(value, "")
    problems = [f"{shape.label(i, o)}: {p}" for i, o in enumerate(objects) for p in shape.problems(o)]
    if problems:
        raise RenderError(f"{len(problems)} field(s) of the wrong shape in the rendered objects:\n  - "
                          + "\n  - ".join(problems))
    return objects


def _extract(value: Any, path: str) -> list[Obj]:
    if value is None:
        return []
    if is_object(value):
        if value["kind"] == "List" and isinstance(value.get("items"), list):
            return _extract(value["items"], f"{path}.items")
        return [value]
    if isinstance(value, list):
        return [o for i, v in enumerate(value) for o in _extract(v, f"{path}[{i}]")]
    if isinstance(value, dict):
        return [o for k, v in value.items() for o in _extract(v, f"{path}.{k}")]
    raise RenderError(f"at {path or '(top level)'}: expected a Kubernetes object (apiVersion and"
                      f" kind), a list or an object of objects; got {type(value).__name__} {value!r:.60}")


def name_problem(group: str, kind: str, name: str) -> str | None:
    """Why ``name`` is not a valid name for a (group, kind) (the ``name_format`` column of
    ``kfdeploy.kinds``), or None."""
    form = rule_for(group, kind).name_format
    if form == "path-segment":
        ok = name not in (".", "..") and "/" not in name and "%" not in name
        return None if ok and name else "must not be empty, '.', '..' or contain '/' or '%'"
    if form == "label":
        return None if len(name) <= 63 and DNS_LABEL.match(name) else "must be a DNS label (a-z, 0-9, '-', <= 63)"
    if form == "dns-1035":
        return None if len(name) <= 63 and DNS_1035.match(name) else "must be a DNS-1035 label (start with a-z, <= 63)"
    return None if len(name) <= 253 and DNS_SUBDOMAIN.match(name) else "must be a DNS subdomain (a-z, 0-9, '-', '.')"


def validate(obj: Obj) -> list[str]:
    """Problems with one object's identity fields."""
    problems = [f"{describe(obj)}: {f} must be a non-empty string" for f in ("apiVersion", "kind")
                if not isinstance(obj.get(f), str) or not obj[f]]
    meta = obj.get("metadata")
    name = meta.get("name") if isinstance(meta, dict) else None
    if not isinstance(name, str) or not name:
        return problems + [f"{describe(obj)}: metadata.name is required"]
    why = name_problem(*group_kind(obj), name)
    if why:
        problems.append(f"{describe(obj)}: metadata.name '{name}' {why}")
    ns = meta.get("namespace") if isinstance(meta, dict) else None
    if ns is not None and (not isinstance(ns, str) or not DNS_LABEL.match(ns)):
        problems.append(f"{describe(obj)}: metadata.namespace {ns!r} must be a DNS label")
    return problems + selector_problems(obj)


def selector_problems(obj: Obj) -> list[str]:
    """A workload whose selector does not select its own pod template (the API server would
    reject it; said here with the labels on both sides)."""
    if group_kind(obj) not in SELECTING_KINDS or not isinstance(obj.get("spec"), dict):
        return []
    selector = workload_selector(obj)
    template = obj["spec"].get("template")
    labels = ((template or {}).get("metadata") or {}).get("labels") or {} if isinstance(template, dict) else {}
    if selector is None or matches(selector, labels):
        return []
    return [f"{describe(obj)}: spec.selector {json.dumps(selector, sort_keys=True)} does not select"
            f" its pod template's labels {json.dumps(labels, sort_keys=True)}"]


def with_namespace(obj: Obj, ctx: Context) -> Obj:
    """Default the namespace of namespaced objects; drop it from cluster-scoped ones."""
    meta = dict(obj["metadata"])
    if group_kind(obj) in ctx.cluster_kinds:
        meta.pop("namespace", None)
    elif not meta.get("namespace"):
        meta["namespace"] = ctx.namespace
    return {**obj, "metadata": meta}


def with_labels(obj: Obj, ctx: Context) -> Obj:
    """kfdeploy's labels on the object's metadata (kfdeploy.labels); selectors and pod templates
    stay exactly as the source wrote them."""
    meta = dict(obj["metadata"])
    meta["labels"] = bookkeeping(meta.get("labels"), ctx.application)
    return {**obj, "metadata": meta}


def ordered(mapping: Mapping[str, Any], first: Iterable[str]) -> dict[str, Any]:
    """``first`` keys in that order, then the rest as they came (evaluators sort them)."""
    head = [k for k in first if k in mapping]
    return {**{k: mapping[k] for k in head}, **{k: v for k, v in mapping.items() if k not in head}}


def canonical(obj: Obj) -> Obj:
    """A stable, readable key order: apiVersion, kind, metadata (name, namespace, ...), rest."""
    out = ordered(obj, FIRST_KEYS)
    out["metadata"] = ordered(obj["metadata"], FIRST_META_KEYS)
    return out


def process(value: Any, ctx: Context) -> list[Obj]:
    """The whole chain for one application; raises RenderError listing every bad object."""
    objects = extract(value)
    problems = [p for o in objects for p in validate(o)]
    if problems:
        raise RenderError(f"application '{ctx.application}': {len(problems)} invalid object(s):\n  - "
                          + "\n  - ".join(problems))
    objects = [canonical(with_labels(with_namespace(o, ctx), ctx)) for o in objects]
    check_duplicates({ctx.application: objects})
    return with_secret_checksums(sorted(objects, key=sort_key), ctx.checksum_key)


def pod_template(obj: Obj) -> Obj | None:
    """The pod template of a workload (kinds table), else None; a bare Pod has none to roll."""
    template = template_of(obj) if rule_of(obj).pod_template else None
    return template if isinstance(template, dict) else None


def secrets_read(pod: Mapping[str, Any]) -> set[str]:
    """Names of the Secrets a pod spec reads: env, envFrom, secret and projected volumes."""
    spec = pod.get("spec") or {}
    names: set[str] = set()
    for c in (spec.get("containers") or []) + (spec.get("initContainers") or []):
        names |= {e["valueFrom"]["secretKeyRef"].get("name") for e in c.get("env") or []
                  if isinstance((e.get("valueFrom") or {}).get("secretKeyRef"), dict)}
        names |= {e["secretRef"].get("name") for e in c.get("envFrom") or [] if isinstance(e.get("secretRef"), dict)}
    for v in spec.get("volumes") or []:
        if isinstance(v.get("secret"), dict):
            names.add(v["secret"].get("secretName"))
        names |= {s["secret"].get("name") for s in (v.get("projected") or {}).get("sources") or []
                  if isinstance(s.get("secret"), dict)}
    return {n for n in names if isinstance(n, str)}


def with_secret_checksums(objects: list[Obj], key: bytes) -> list[Obj]:
    """Pod templates that read Secrets of this application carry a keyed checksum of their data,
    so changing a credential rolls out the pods that read it (never the value itself)."""
    if not key:
        return objects
    by_name = {(o["metadata"].get("namespace", ""), o["metadata"]["name"]): o for o in objects
               if group_kind(o) == SECRET}
    out = []
    for obj in objects:
        template = pod_template(obj)
        ns = obj["metadata"].get("namespace", "")
        read = sorted(n for n in secrets_read(template or {}) if (ns, n) in by_name)
        if template is None or not read:
            out.append(obj)
            continue
        value = checksum(key, [by_name[(ns, n)] for n in read])
        out.append(with_template_annotation(obj, SECRETS_CHECKSUM, value))
    return out


def with_template_annotation(obj: Obj, name: str, value: str) -> Obj:
    out = copy.deepcopy(obj)
    template = pod_template(out)
    assert template is not None
    meta = template.setdefault("metadata", {})
    meta["annotations"] = {**(meta.get("annotations") or {}), name: value}
    return out


def check_duplicates(by_app: Mapping[str, list[Obj]]) -> None:
    """Raise if two rendered objects are the same API object, naming both applications."""
    seen: dict[ObjectKey, str] = {}
    problems: list[str] = []
    for app, objects in by_app.items():
        for obj in objects:
            key = object_key(obj)
            if key in seen:
                where = f"in application '{app}'" if seen[key] == app else \
                    f"in applications '{seen[key]}' and '{app}'"
                problems.append(f"{describe(obj)} is rendered twice {where}")
            else:
                seen[key] = app
    if problems:
        raise RenderError("duplicate objects:\n  - " + "\n  - ".join(problems),
                          hint="each object must come from exactly one application; rename one"
                               " or disable the duplicate")


def cluster_scoped_kinds(objects: Iterable[Obj]) -> frozenset[tuple[str, str]]:
    """(group, kind) of the built-in cluster-scoped kinds (``kfdeploy.kinds``) plus those of
    rendered CRDs with ``scope: Cluster``."""
    extra = {(str(o["spec"].get("group") or ""), o["spec"]["names"]["kind"]) for o in objects
             if group_kind(o) == CRD
             and isinstance(o.get("spec"), dict) and o["spec"].get("scope") == "Cluster"
             and isinstance(o["spec"].get("names"), dict) and "kind" in o["spec"]["names"]}
    return CLUSTER_SCOPED | extra
