"""How far the built-in library is from an upstream release: ``kfdeploy library compare``.

Pure functions over two object lists. Upstream objects are assigned to a library component by
identity first (an upstream object the library renders under the same group, kind, namespace
and name belongs to the component that renders it), then by ``RULES``: data that say which
namespaces, API groups, names and labels of the upstream release make up each component. An
upstream object no rule claims is reported as unassigned, so a rule gap is visible rather than
silently counted against a component.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from kfdeploy.errors import UsageError
from kfdeploy.kinds import CRD, NAMESPACE, group_kind, rule_for
from kfdeploy.objects import ObjectKey, describe_key, object_key
from kfdeploy.render import images as image_refs
from kfdeploy.render import shape

Obj = dict[str, Any]
UNASSIGNED = "(unassigned)"
CRD_KINDS = ("CustomResourceDefinition",)  # rule data: upstream CRDs by the group they define


@dataclass(frozen=True)
class Rule:
    """Upstream objects of one component: every field that is set must match (regexes are full
    matches). ``groups`` are API groups of the object, or of the resource a CRD defines."""

    component: str
    kinds: tuple[str, ...] = ()
    namespaces: tuple[str, ...] = ()
    groups: str = ""
    names: str = ""
    labels: Mapping[str, str] = field(default_factory=dict)


# First match wins: specific names and labels before whole namespaces. Components that the
# library does not ship are named "upstream:<what>", so their objects count as deliberate gaps.
RULES: tuple[Rule, ...] = (
    Rule("cert-manager", kinds=CRD_KINDS, groups=r"(acme\.)?cert-manager\.io"),
    Rule("cert-manager", namespaces=("cert-manager",)),
    Rule("cert-manager", names=r"cert-manager.*|kubeflow-self-signing-issuer"),
    Rule("upstream:knative", groups=r".*\.knative\.dev|caching\.internal\.knative\.dev"),
    Rule("upstream:knative", namespaces=("knative-serving", "knative-eventing")),
    Rule("upstream:knative", names=r"knative.*|.*\.knative\.dev"),
    Rule("upstream:knative", labels={"app.kubernetes.io/name": "knative-serving"}),
    Rule("auth", namespaces=("auth", "oauth2-proxy")),
    Rule("auth", groups=r"dex\.coreos\.com"),
    Rule("auth", names=r"dex.*|oauth2-proxy.*|.*oauth2.*|.*m2m.*"),
    Rule("istio", kinds=CRD_KINDS, groups=r".*\.istio\.io"),
    Rule("istio", names=r"cluster-local-gateway.*|kubeflow-gateway|istio.*|kubeflow-istio-.*"),
    Rule("istio", namespaces=("istio-system",)),
    Rule("upstream:spark-operator", names=r"spark.*|.*sparkapplication.*"),
    Rule("upstream:spark-operator", groups=r"sparkoperator\.k8s\.io"),
    Rule("upstream:spark-operator", labels={"app.kubernetes.io/name": "spark-operator"}),
    Rule("pipelines", groups=r"pipelines\.kubeflow\.org|argoproj\.io|metacontroller\.k8s\.io"),
    Rule("pipelines", labels={"application-crd-id": "kubeflow-pipelines"}),
    Rule("pipelines", names=r"ml-pipeline.*|.*pipeline.*|argo.*|metacontroller.*|minio.*|mysql.*|"
                            r"cache-.*|metadata-.*|workflow-controller.*|kubeflow-pipelines-.*|"
                            r"seaweedfs.*|kfp-.*|service-cache-server"),
    Rule("katib", names=r"katib.*|kubeflow-katib-.*|.*experiments\.kubeflow\.org|.*suggestions\.kubeflow\.org|"
                        r".*trials\.kubeflow\.org"),
    Rule("katib", labels={"katib.kubeflow.org/component": ".*"}),
    Rule("kserve", groups=r"serving\.kserve\.io"),
    Rule("kserve", names=r"kserve.*|.*models-web-app.*|kubeflow-kserve-.*"),
    Rule("kserve", labels={"app.kubernetes.io/name": "kserve|kserve-models-web-app|models-web-app"}),
    Rule("training-operator", names=r"training-operator.*|kubeflow-training-.*|.*jobs\.kubeflow\.org"),
    Rule("training-operator", labels={"control-plane": "kubeflow-training-operator"}),
    Rule("tensorboards", names=r"tensorboard.*|.*tensorboards.*"),
    Rule("notebooks", names=r"notebook.*|jupyter.*|.*notebooks\.kubeflow\.org|kubeflow-notebook.*|"
                            r"pvcviewer.*|.*pvcviewers\.kubeflow\.org|kubeflow-pvcviewer.*"),
    Rule("volumes-web-app", names=r"volumes-web-app.*|kubeflow-volumes.*"),
    Rule("central-dashboard", names=r"centraldashboard.*|central-dashboard.*|kubeflow-dashboard.*"),
    Rule("admission-webhook", names=r"admission-webhook.*|poddefaults.*|kubeflow-poddefaults.*"),
    Rule("profiles", names=r"profiles.*|kfam.*|.*profiles\.kubeflow\.org|kubeflow-(admin|edit|view)|"
                           r"kubeflow-kubernetes-.*|kubeflow-user-example-com|default-profile"),
    Rule("profiles", labels={"kustomize.component": "profiles"}),
    Rule("profiles", namespaces=("kubeflow-user-example-com",)),
    Rule("profiles", names=r"default-install-config.*"),
    Rule("pipelines", kinds=("NetworkPolicy",), names=r"metatada-envoy"),  # sic, upstream's name
    Rule("upstream:model-registry", names=r"model-registry.*"),
    Rule("istio", kinds=("NetworkPolicy",), names=r"default-allow-same-namespace"),  # with Namespace kubeflow
)

# kustomize's configMapGenerator/secretGenerator name suffix (a hash in its own alphabet).
_GENERATED_SUFFIX = re.compile(r"-[245-9bcdfghkmt]{10}$")

# Kinds whose objects are counted but not compared one by one: upstream-generated names (a
# hash suffix) never match a library name, so they would only add noise.
_SKIPPED_KINDS = frozenset({"List"})


def upstream_key(obj: Mapping[str, Any]) -> ObjectKey:
    """The identity of an upstream object, without kustomize's generated-name hash suffix."""
    group, kind, namespace, name = object_key(obj)
    if rule_for(group, kind).generated_names:
        name = _GENERATED_SUFFIX.sub("", name)
    return group, kind, namespace, name


def _full(pattern: str, value: str) -> bool:
    return bool(re.fullmatch(pattern, value))


def _groups_of(obj: Mapping[str, Any]) -> list[str]:
    group = object_key(obj)[0]
    spec = obj.get("spec")
    defined = spec.get("group") if group_kind(obj) == CRD and isinstance(spec, dict) else None
    return [g for g in (group, defined) if isinstance(g, str)]


def matches(rule: Rule, obj: Mapping[str, Any]) -> bool:
    """Whether every field ``rule`` sets matches ``obj``."""
    _, _, namespace, name = object_key(obj)
    labels = (obj.get("metadata") or {}).get("labels") or {}
    checks = [
        not rule.kinds or obj.get("kind") in rule.kinds,
        not rule.namespaces or namespace in rule.namespaces or (group_kind(obj) == NAMESPACE
                                                                and name in rule.namespaces),
        not rule.groups or any(_full(rule.groups, g) for g in _groups_of(obj) if g),
        not rule.names or _full(rule.names, name),
        all(k in labels and _full(v, str(labels[k])) for k, v in rule.labels.items()),
    ]
    return all(checks)


def assign(obj: Mapping[str, Any], rules: Iterable[Rule] = RULES) -> str:
    """The component an upstream object belongs to by the rules, or UNASSIGNED."""
    return next((r.component for r in rules if matches(r, obj)), UNASSIGNED)


# --- images and CRD schemas --------------------------------------------------------------------


def images(objs: Iterable[Obj]) -> set[str]:
    """Every image the objects name, in containers and in configuration values."""
    return {use.image for o in objs for use in image_refs.find(o)}


def image_name(image: str) -> str:
    """The repository's last path segment: 'ghcr.io/x/kfp-api-server:2.5.0' -> 'kfp-api-server'."""
    repo = image.split("@", 1)[0]
    last = repo.rsplit("/", 1)[-1]
    return last.split(":", 1)[0]


def image_differences(library: set[str], upstream: set[str]) -> list[dict[str, str | None]]:
    """Library images that upstream does not use, paired by repository name when it has one,
    then upstream images of no library counterpart."""
    by_name: dict[str, list[str]] = {}
    for image in sorted(upstream):
        by_name.setdefault(image_name(image), []).append(image)
    out: list[dict[str, str | None]] = []
    paired: set[str] = set()
    for image in sorted(library - upstream):
        ups = [u for u in by_name.get(image_name(image), []) if u not in library]
        paired.update(ups)
        out.append({"library": image, "upstream": ", ".join(ups) or None})
    out += [{"library": None, "upstream": u} for u in sorted(upstream - library - paired)
            if image_name(u) not in {image_name(i) for i in library}]
    return out


def typed(schema: Any) -> bool:
    """Whether an openAPIV3Schema describes fields below its top level (spec or other)."""
    if not isinstance(schema, dict):
        return False
    props = schema.get("properties") or {}
    return any(isinstance(p, dict) and (p.get("properties") or p.get("items") or p.get("additionalProperties"))
               for k, p in props.items() if k not in ("apiVersion", "kind", "metadata", "status"))


def crd_schemas(crd: Mapping[str, Any]) -> dict[str, Any]:
    versions = (crd.get("spec") or {}).get("versions") or []
    return {str(v.get("name")): (v.get("schema") or {}).get("openAPIV3Schema")
            for v in versions if isinstance(v, dict)}


def open_crds(library: list[Obj], upstream: list[Obj]) -> list[str]:
    """CRDs (name@version) whose library schema is open where upstream's is typed."""
    ups = {o["metadata"]["name"]: crd_schemas(o) for o in upstream if group_kind(o) == CRD}
    out = []
    for crd in (o for o in library if group_kind(o) == CRD):
        name = crd["metadata"]["name"]
        for version, schema in crd_schemas(crd).items():
            if not typed(schema) and typed(ups.get(name, {}).get(version)):
                out.append(f"{name}@{version}")
    return sorted(out)


# --- the comparison ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ComponentDiff:
    name: str
    upstream: int
    library: int
    missing: list[str]
    extra: list[str]
    images: list[dict[str, str | None]]
    open_crds: list[str]

    def to_data(self) -> dict[str, Any]:
        return {"name": self.name, "upstreamObjects": self.upstream, "libraryObjects": self.library,
                "missing": self.missing, "extra": self.extra, "images": self.images,
                "openCrds": self.open_crds}


@dataclass(frozen=True)
class Comparison:
    against: str
    components: list[ComponentDiff]
    upstream_only: dict[str, int]

    def totals(self) -> dict[str, int]:
        c = self.components
        return {"upstreamObjects": sum(d.upstream for d in c), "libraryObjects": sum(d.library for d in c),
                "missing": sum(len(d.missing) for d in c), "extra": sum(len(d.extra) for d in c),
                "imagesDiffer": sum(len(d.images) for d in c), "openCrds": sum(len(d.open_crds) for d in c),
                "upstreamOnly": sum(self.upstream_only.values())}

    def to_data(self) -> dict[str, Any]:
        return {"against": self.against, "totals": self.totals(),
                "components": [d.to_data() for d in self.components], "upstreamOnly": self.upstream_only}

    def text(self) -> str:
        head = (f"{'COMPONENT':<22} {'UPSTREAM':>8} {'LIBRARY':>8} {'MISSING':>8} {'EXTRA':>6} {'IMAGES':>7}"
                f" {'OPEN-CRDS':>9}")
        rows = [head] + [f"{d.name:<22} {d.upstream:>8} {d.library:>8} {len(d.missing):>8} {len(d.extra):>6} "
                         f"{len(d.images):>7} {len(d.open_crds):>9}" for d in self.components]
        t = self.totals()
        rows.append(f"{'total':<22} {t['upstreamObjects']:>8} {t['libraryObjects']:>8} {t['missing']:>8} "
                    f"{t['extra']:>6} {t['imagesDiffer']:>7} {t['openCrds']:>9}")
        rows += [f"not in the library: {name} ({n} object(s))" for name, n in self.upstream_only.items()]
        for d in self.components:
            detail = [f"  missing {m}" for m in d.missing] + [f"  extra   {e}" for e in d.extra]
            detail += [f"  image   {i['library'] or '-'}  upstream: {i['upstream'] or '-'}" for i in d.images]
            detail += [f"  open    CRD {c} (upstream's schema is typed)" for c in d.open_crds]
            if detail:
                rows += ["", f"{d.name}:"] + detail
        return "\n".join(rows)


def compare(library: Mapping[str, list[Obj]], upstream: list[Obj], against: str = "",
            rules: Iterable[Rule] = RULES) -> Comparison:
    """Compare the library's objects per component with an upstream build."""
    rules = tuple(rules)
    owner = {object_key(o): app for app, objs in library.items() for o in objs}
    by_component: dict[str, list[Obj]] = {}
    for obj in upstream:
        by_component.setdefault(owner.get(upstream_key(obj)) or assign(obj, rules), []).append(obj)
    upstream_keys = {upstream_key(o) for o in upstream}
    diffs = []
    for app, objs in library.items():
        ups = by_component.get(app, [])
        mine = {object_key(o) for o in objs}
        diffs.append(ComponentDiff(
            app, len(ups), len(objs),
            missing=_described(upstream_key(o) for o in ups if upstream_key(o) not in mine),
            extra=_described(k for k in mine if k not in upstream_keys),
            images=image_differences(images(objs), images(ups)),
            open_crds=open_crds(objs, ups)))
    others = {name: len(objs) for name, objs in sorted(by_component.items()) if name not in library}
    return Comparison(against, diffs, others)


def _described(keys: Iterable[ObjectKey]) -> list[str]:
    return sorted(describe_key(k) for k in keys)


# --- reading an upstream build -----------------------------------------------------------------


_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_UPSTREAM_HINT = "pass the output of `kustomize build` (or `kubectl kustomize`)"


def _documents(text: str, source: Path) -> list[Obj]:
    """The objects of one upstream file; an object of the wrong shape is an error naming it."""
    objects = list(_objects(text, source))
    problems = [f"{shape.label(i, o)}: {p}" for i, o in enumerate(objects) for p in shape.problems(o)]
    if problems:
        raise UsageError(f"{source}: {len(problems)} field(s) of the wrong shape:\n  - "
                         + "\n  - ".join(problems[:20]), hint=_UPSTREAM_HINT)
    return objects


def _objects(text: str, source: Path) -> Iterator[Obj]:
    try:
        docs = list(yaml.load_all(text, Loader=_Loader))
    except (yaml.YAMLError, ValueError) as e:
        raise UsageError(f"{source}: not valid YAML: {e}", hint=_UPSTREAM_HINT) from e
    except RecursionError as e:
        raise UsageError(f"{source}: not valid YAML: nested too deeply", hint=_UPSTREAM_HINT) from e
    for doc in docs:
        if isinstance(doc, dict) and doc.get("kind") == "List" and isinstance(doc.get("items"), list):
            yield from (i for i in doc["items"] if isinstance(i, dict))
        elif isinstance(doc, dict) and doc.get("kind") and doc.get("apiVersion"):
            yield doc


def load_upstream(path: str | Path) -> list[Obj]:
    """Every Kubernetes object in a YAML file, or in the YAML files under a directory."""
    root = Path(path)
    if not root.exists():
        raise UsageError(f"--against {path}: no such file or directory",
                         hint="build the release first: kubectl kustomize <manifests>/example > upstream.yaml")
    files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.suffix in (".yaml", ".yml"))
    objs = [o for f in files for o in _documents(f.read_text(errors="replace"), f)]
    objs = [o for o in objs if o.get("kind") not in _SKIPPED_KINDS and isinstance(o.get("metadata"), dict)]
    if not objs:
        raise UsageError(f"--against {path}: no Kubernetes objects found",
                         hint="pass a kustomize build output file or a directory of YAML")
    return objs
