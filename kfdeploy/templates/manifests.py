"""The KfDef ``kfdeploy init --manifests`` writes: the official Kubeflow manifests release as
kustomize applications with a dependency graph.

The release's ``example/kustomization.yaml`` lists the folders a full install builds; each one
is given to an application by ``RULES`` (first match wins, as data), so releases that move or add
folders keep working: a folder no rule knows becomes an application of its own, named after it.
The example's ``components`` go to the applications whose objects they change, and dependencies
come from the objects themselves (``dependencies``): who defines the CRDs an application's objects
are instances of, and who creates the namespaces they live in. Everything here is pure; builds
and the check that the split renders exactly what the example renders are in render.release.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

from kfdeploy.kinds import CRD, NAMESPACE, group_kind
from kfdeploy.templates.starter import HEADER, PLATFORM_BLOCKS, StarterOptions, _scalar

EXAMPLE = "example"
# Fields of the example kustomization a split can carry over; any other (namePrefix, patches,
# labels, ...) would change every object and is refused rather than silently dropped.
SPLITTABLE_FIELDS = frozenset({"apiVersion", "kind", "resources", "components", "sortOptions"})


@dataclass(frozen=True)
class Rule:
    application: str
    prefixes: tuple[str, ...]
    about: str


RULES: tuple[Rule, ...] = (
    Rule("cert-manager", ("common/cert-manager/",), "TLS certificates for webhooks"),
    Rule("istio", ("common/istio/istio-crds/", "common/istio/istio-namespace/", "common/istio/istio-install/"),
         "service mesh and ingress gateway"),
    Rule("auth", ("common/oauth2-proxy/", "common/dex/"), "login: oauth2-proxy and Dex"),
    Rule("knative", ("common/knative/", "common/istio/cluster-local-gateway/"),
         "Knative Serving (KServe's serverless mode)"),
    # Its own application: from 1.11 the istio install puts Sidecars into the kubeflow namespace.
    Rule("kubeflow-namespace", ("common/kubeflow-namespace/",), "the kubeflow namespaces"),
    Rule("kubeflow-base", ("common/networkpolicies/", "common/kubeflow-roles/",
                           "common/istio/kubeflow-istio-resources/"),
         "kubeflow roles, network policies, gateway"),
    Rule("pipelines", ("applications/pipeline/",), "Kubeflow Pipelines"),
    Rule("katib", ("applications/katib/",), "hyperparameter tuning"),
    Rule("central-dashboard", ("applications/centraldashboard/",), "the Kubeflow web UI"),
    Rule("admission-webhook", ("applications/admission-webhook/",), "PodDefaults"),
    Rule("notebooks", ("applications/jupyter/",), "Jupyter web app and notebook controller"),
    Rule("profiles", ("applications/profiles/",), "per-user namespaces and access (KFAM)"),
    Rule("pvcviewer", ("applications/pvcviewer-controller/",), "PVC viewer controller"),
    Rule("volumes-web-app", ("applications/volumes-web-app/",), "manage volumes from the UI"),
    Rule("tensorboards", ("applications/tensorboard/",), "TensorBoard controller and web app"),
    Rule("training-operator", ("applications/training-operator/",), "training operator (v1)"),
    Rule("trainer", ("applications/trainer/",), "Kubeflow Trainer (v2)"),
    Rule("user-namespace", ("common/user-namespace/",), "the example user's profile"),
    Rule("kserve", ("applications/kserve/",), "model serving and its web app"),
    Rule("spark-operator", ("applications/spark/",), "Spark operator"),
)


@dataclass
class ManifestApp:
    """One application of the split: its folders (repo-relative), in the example's order."""

    name: str
    paths: list[str] = field(default_factory=list)
    about: str = ""
    components: list[str] = field(default_factory=list)
    depends_on: list[str] = field(default_factory=list)
    patches: list[dict[str, Any]] = field(default_factory=list)  # {target, patch}: see reconcile


@dataclass(frozen=True)
class Example:
    resources: list[str]    # repo-relative folders
    components: list[str]   # repo-relative kustomize Components


class LayoutError(ValueError):
    """The example kustomization is not one kfdeploy can split."""


def _repo_relative(entry: str) -> str:
    path = re.sub(r"^(\./)?\.\./", "", entry.strip()).rstrip("/")
    if entry.strip().startswith(("/", "http://", "https://")) or path.startswith("../") or path == entry.strip():
        raise LayoutError(f"{EXAMPLE}/kustomization.yaml: {entry!r} is not a folder of the release"
                          " (expected ../<folder>)")
    return path


def parse_example(text: str) -> Example:
    """The folders and components of ``example/kustomization.yaml``, repo-relative."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise LayoutError(f"{EXAMPLE}/kustomization.yaml is not valid YAML: {e}") from e
    if not isinstance(data, dict) or not isinstance(data.get("resources"), list):
        raise LayoutError(f"{EXAMPLE}/kustomization.yaml has no resources list")
    extra = sorted(set(data) - SPLITTABLE_FIELDS)
    if extra:
        raise LayoutError(f"{EXAMPLE}/kustomization.yaml sets {', '.join(extra)}, which change every"
                          " object; kfdeploy can split resources and components only")
    return Example([_repo_relative(str(r)) for r in data["resources"]],
                   [_repo_relative(str(c)) for c in data.get("components") or []])


def fallback_name(path: str) -> str:
    """An application name for a folder no rule knows: the folder after its top level."""
    parts = path.split("/")
    name = parts[1] if len(parts) > 1 else parts[0]
    return re.sub(r"[^a-z0-9-]+", "-", name.lower()).strip("-")[:63] or "manifests"


def group(paths: Iterable[str], rules: tuple[Rule, ...] = RULES) -> list[ManifestApp]:
    """Applications in the order their first folder appears in the example."""
    apps: dict[str, ManifestApp] = {}
    for path in paths:
        rule = next((r for r in rules if path.startswith(r.prefixes) or path + "/" in r.prefixes), None)
        name = rule.application if rule else fallback_name(path)
        app = apps.setdefault(name, ManifestApp(name, about=rule.about if rule else f"from {path}"))
        app.paths.append(path)
    return list(apps.values())


# -- dependencies, from the rendered objects ---------------------------------------------------

def _defines(objects: Iterable[Mapping[str, Any]]) -> tuple[set[tuple[str, str]], set[str]]:
    """(group, kind) of the CRDs and the names of the Namespaces among ``objects``."""
    crds = {(o["spec"]["group"], o["spec"]["names"]["kind"]) for o in objects
            if group_kind(o) == CRD and isinstance(o.get("spec"), dict)}
    namespaces = {o["metadata"]["name"] for o in objects if group_kind(o) == NAMESPACE}
    return crds, namespaces


def dependencies(objects: Mapping[str, list[dict[str, Any]]]) -> dict[str, list[str]]:
    """Per application, the applications defining the CRDs of its custom resources or creating
    the namespaces of its objects, in the order given."""
    defined = {app: _defines(objs) for app, objs in objects.items()}
    out: dict[str, list[str]] = {}
    for app, objs in objects.items():
        needs: set[str] = set()
        for o in objs:
            kind_key = (str(o.get("apiVersion", "")).rpartition("/")[0], str(o.get("kind")))
            ns = (o.get("metadata") or {}).get("namespace")
            for other, (crds, namespaces) in defined.items():
                if other != app and (kind_key in crds or ns in namespaces):
                    needs.add(other)
        out[app] = [a for a in objects if a in needs]
    return out


# -- the spec text ------------------------------------------------------------------------------

MANIFESTS_FOOTER = """\
  # The official Kubeflow manifests, rendered with kustomize (one folder set per application).
  # To upgrade: change uri to the new release, fix the paths that moved (compare the release's
  # example/kustomization.yaml, or run `kfdeploy init --manifests NEW_URI` and diff), then
  # `kfdeploy plan` and `kfdeploy apply`. A pinned sha256 is checked on download.
  repos:
  - name: {repo}
    uri: {uri}
  # Per application: patches, images, replicas and postRender (docs/spec.md) customize upstream.
  applications:
{applications}"""


def _path(text: str) -> str:
    plain = re.fullmatch(r"[A-Za-z0-9][-A-Za-z0-9_./]*", text) and yaml.safe_load(text) == text
    return text if plain else _scalar(text)


def _app_text(app: ManifestApp, repo: str) -> str:
    path = _path(app.paths[0]) if len(app.paths) == 1 else "[" + ", ".join(map(_path, app.paths)) + "]"
    lines = [f"  - name: {app.name:<20} # {app.about}", f"    kustomize: {{repo: {repo}, path: {path}"
             + (", components: [" + ", ".join(map(_path, app.components)) + "]" if app.components else "")
             + "}"]
    if app.depends_on:
        lines.append(f"    dependsOn: [{', '.join(app.depends_on)}]")
    if app.patches:
        lines.append("    # kustomize build example sets these across folders (another folder's vars or"
                     " generated names);\n    # the patches make this application render the same.")
        body = yaml.safe_dump({"patches": app.patches}, default_flow_style=None, sort_keys=False, width=1 << 16)
        lines.extend("    " + line for line in body.rstrip("\n").splitlines())
    return "\n".join(lines) + "\n"


def manifests_spec(apps: list[ManifestApp], uri: str, o: StarterOptions, file: str = "kfdef.yaml",
                   repo: str = "manifests") -> str:
    """The spec text: the starter's header and platform block, then repos and applications."""
    return (HEADER.format(file=file, name=_scalar(o.name)) + PLATFORM_BLOCKS[o.platform](o)
            + MANIFESTS_FOOTER.format(repo=repo, uri=_scalar(uri),
                                      applications="".join(_app_text(a, repo) for a in apps)))
