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

import json
import re
import textwrap
from collections.abc import Callable, Iterable, Mapping
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
    # Dashboard 2.0 (after 26.03) moves these three under applications/dashboard/upstream/.
    Rule("central-dashboard", ("applications/centraldashboard/", "applications/dashboard/upstream/centraldashboard/"),
         "the Kubeflow web UI"),
    Rule("admission-webhook",
         ("applications/admission-webhook/", "applications/dashboard/upstream/poddefaults-webhooks/"), "PodDefaults"),
    Rule("notebooks", ("applications/jupyter/",), "Jupyter web app and notebook controller"),
    Rule("profiles", ("applications/profiles/", "applications/dashboard/upstream/profile-controller/"),
         "per-user namespaces and access (KFAM)"),
    Rule("pvcviewer", ("applications/pvcviewer-controller/",), "PVC viewer controller"),
    Rule("volumes-web-app", ("applications/volumes-web-app/",), "manage volumes from the UI"),
    Rule("tensorboards", ("applications/tensorboard/",), "TensorBoard controller and web app"),
    Rule("training-operator", ("applications/training-operator/",), "training operator (v1)"),
    Rule("trainer", ("applications/trainer/",), "Kubeflow Trainer (v2)"),
    Rule("user-namespace", ("common/user-namespace/",), "the example user's profile"),
    Rule("kserve", ("applications/kserve/",), "model serving and its web app"),
    Rule("spark-operator", ("applications/spark/",), "Spark operator"),
    Rule("model-registry", ("applications/model-registry/",), "model registry and its UI"),
    Rule("ray", ("experimental/ray/",), "KubeRay operator (experimental)"),
)


ISTIO_INSTALL = "common/istio/istio-install/overlays/"
OAUTH2_PROXY = "common/oauth2-proxy/overlays/"


@dataclass(frozen=True)
class Variant:
    """Use the release's folder ``to`` where its example lists ``replaces``."""

    replaces: str
    to: str


@dataclass(frozen=True)
class Choice:
    """What a platform or an optional piece changes in the example's folder list: folders
    swapped for a variant the release ships, folders added (from the example's commented lines),
    and a note written into the spec."""

    name: str
    about: str
    variants: tuple[Variant, ...] = ()
    adds: tuple[str, ...] = ()
    note: str = ""
    patches: tuple[dict[str, Any], ...] = ()  # for the application of the variant; "{region}" filled in


EKS_ISSUER = {"target": {"group": "security.istio.io", "kind": "RequestAuthentication",
                         "name": "^m2m-token-issuer$", "namespace": "^istio-system$"},
              "patch": [{"op": "replace", "path": "/spec/jwtRules/0/issuer",
                         "value": "https://oidc.eks.{region}.amazonaws.com/id/CLUSTER_ID"}]}
# Per platform, upstream's own overlays for it (example/kustomization.yaml's comments and README).
PLATFORM_CHOICES: dict[str, Choice] = {
    "gke": Choice("gke", "Istio's GKE overlay", (Variant(ISTIO_INSTALL + "oauth2-proxy", ISTIO_INSTALL + "gke"),),
                  note="GKE mounts /opt/cni/bin read-only; the gke overlay installs Istio's CNI into"
                       " /home/kubernetes/bin"),
    "kind": Choice("kind", "oauth2-proxy accepting the cluster's service account tokens",
                   (Variant(OAUTH2_PROXY + "m2m-dex-only", OAUTH2_PROXY + "m2m-dex-and-kind"),),
                   note="m2m-dex-and-kind: Kubernetes service account tokens work through the"
                        " ingress gateway (kind's issuer)"),
    "eks": Choice("eks", "oauth2-proxy accepting EKS service account tokens",
                  (Variant(OAUTH2_PROXY + "m2m-dex-only", OAUTH2_PROXY + "m2m-dex-and-eks"),),
                  note="m2m-dex-and-eks: the m2m-token-issuer RequestAuthentication must name your"
                       " cluster's OIDC issuer; the patch below sets it with CLUSTER_ID to replace:"
                       " `aws eks describe-cluster --name NAME --query cluster.identity.oidc.issuer`"
                       " prints the whole URL once the cluster exists",
                  patches=(EKS_ISSUER,)),
}
# Optional pieces a release may ship (commented lines of its example), for `init --with NAME`.
OPTIONS: tuple[Choice, ...] = (
    Choice("ambient", "Istio ambient mode (no sidecars)",
           (Variant(ISTIO_INSTALL + "oauth2-proxy", ISTIO_INSTALL + "ambient-oauth2-proxy"),
            Variant(ISTIO_INSTALL + "gke", ISTIO_INSTALL + "ambient-oauth2-proxy-gke"))),
    Choice("knative-eventing", "Knative Eventing", adds=("common/knative/knative-eventing/base",)),
    Choice("pipelines-k8s-native", "Kubeflow Pipelines storing pipeline definitions as Kubernetes resources",
           (Variant("applications/pipeline/upstream/env/cert-manager/platform-agnostic-multi-user",
                    "applications/pipeline/upstream/env/cert-manager/platform-agnostic-multi-user-k8s-native"),
            Variant("applications/pipeline/overlays",
                    "applications/pipeline/upstream/env/cert-manager/platform-agnostic-multi-user-k8s-native"))),
    Choice("model-registry", "Kubeflow Model Registry with its UI",
           adds=("applications/model-registry/upstream/overlays/db",
                 "applications/model-registry/upstream/options/istio",
                 "applications/model-registry/upstream/options/ui/overlays/istio")),
    Choice("ray", "KubeRay operator (experimental)", adds=("experimental/ray/kuberay-operator/overlays/kubeflow",)),
)
OPTION_NAMES = tuple(o.name for o in OPTIONS)


def option(name: str) -> Choice:
    return next(o for o in OPTIONS if o.name == name)


@dataclass(frozen=True)
class Applied:
    """The example's folders after platform and options, and what was done or not possible."""

    resources: list[str]
    done: list[str]
    missing: list[str]


def apply_choice(resources: list[str], choice: Choice, exists: Callable[[str], bool]) -> Applied:
    """``resources`` with ``choice``'s variants swapped in and folders added where the release
    has them; ``missing`` says what it lacks."""
    out, done, missing = list(resources), [], []
    for v in choice.variants:
        if v.replaces in out and exists(v.to):
            out[out.index(v.replaces)] = v.to
            done.append(f"{v.replaces} -> {v.to}")
        elif v.replaces in out:
            missing.append(v.to)
    for folder in choice.adds:
        if folder in out:
            continue
        if exists(folder):
            out.append(folder)
            done.append(f"+ {folder}")
        else:
            missing.append(folder)
    return Applied(out, done, missing)


def available_options(resources: list[str], exists: Callable[[str], bool]) -> list[Choice]:
    """The options this release ships that ``resources`` do not use yet."""
    return [o for o in OPTIONS if apply_choice(resources, o, exists).done]


def annotate(apps: list[ManifestApp], chosen: Iterable[Choice], region: str | None) -> None:
    """Give the application holding each chosen variant its note and patches (``{region}``
    filled in), after the split check: they are the user's to finish, not the example's."""
    for choice in chosen:
        folders = {v.to for v in choice.variants} | set(choice.adds)
        for app in (a for a in apps if folders & set(a.paths)):
            app.notes += [choice.note] if choice.note else []
            app.platform_patches += [json.loads(json.dumps(p).replace("{region}", region or "AWS_REGION"))
                                     for p in choice.patches]


@dataclass
class ManifestApp:
    """One application of the split: its folders (repo-relative), in the example's order."""

    name: str
    paths: list[str] = field(default_factory=list)
    about: str = ""
    components: list[str] = field(default_factory=list)
    depends_on: list[str] = field(default_factory=list)
    patches: list[dict[str, Any]] = field(default_factory=list)  # {target, patch}: see reconcile
    notes: list[str] = field(default_factory=list)  # platform notes, written as comments
    platform_patches: list[dict[str, Any]] = field(default_factory=list)  # e.g. EKS's issuer


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
  # To upgrade: `kfdeploy upgrade -f {file} --to NEW_URI` rewrites uri and the paths that moved,
  # keeping your customizations; then `kfdeploy plan` and `kfdeploy apply`. A pinned sha256 is
  # checked on download.
  repos:
  - name: {repo}
    uri: {uri}
  # Per application: patches, images, replicas and postRender (docs/spec.md) customize upstream.
  applications:
{applications}"""


def _path(text: str) -> str:
    plain = re.fullmatch(r"[A-Za-z0-9][-A-Za-z0-9_./]*", text) and yaml.safe_load(text) == text
    return text if plain else _scalar(text)


def kustomize_line(app: ManifestApp, repo: str) -> str:
    """``kustomize: {repo, path, components}`` of an application, in flow style."""
    path = _path(app.paths[0]) if len(app.paths) == 1 else "[" + ", ".join(map(_path, app.paths)) + "]"
    return (f"kustomize: {{repo: {repo}, path: {path}"
            + (", components: [" + ", ".join(map(_path, app.components)) + "]" if app.components else "") + "}")


def patches_lines(patches: list[dict[str, Any]]) -> list[str]:
    """``patches:`` and its entries, one flow-style mapping per entry."""
    body = yaml.safe_dump({"patches": patches}, default_flow_style=None, sort_keys=False, width=1 << 16)
    return body.rstrip("\n").splitlines()


def app_text(app: ManifestApp, repo: str) -> str:
    lines = [f"  - name: {app.name:<20} # {app.about}", f"    {kustomize_line(app, repo)}"]
    if app.depends_on:
        lines.append(f"    dependsOn: [{', '.join(app.depends_on)}]")
    lines += [f"    # {line}" for note in app.notes for line in textwrap.wrap(note, 94)]
    if app.patches:
        lines.append("    # kustomize build example sets these across folders (another folder's vars or"
                     " generated names);\n    # the patches make this application render the same.")
    if app.patches or app.platform_patches:
        lines.extend("    " + line for line in patches_lines(app.patches + app.platform_patches))
    return "\n".join(lines) + "\n"


def _offered_text(offered: list[Choice], uri: str) -> str:
    """Commented lines naming the optional pieces the release ships and the flag that adds them."""
    if not offered:
        return ""
    lines = [f"  # Optional in this release, not installed: re-run `kfdeploy init --manifests {uri} --with NAME`"
             " (repeatable)\n  # to add one, split and checked like the rest:"]
    lines += [f"  #   {o.name:<21} {o.about}" for o in offered]
    return "\n".join(lines) + "\n"


def version_line(tag: str | None) -> str:
    """``spec.version`` of a manifests spec: the release's tag, or no line when it is unknown."""
    if not tag:
        return ""
    return f'  version: "{tag}"'.ljust(26) + " # the kubeflow/manifests release (repos[].uri decides)\n"


LIBRARY_VERSION_LINE = re.compile(r"^  version: .*\n", re.M)


def manifests_spec(apps: list[ManifestApp], uri: str, o: StarterOptions, file: str = "kfdef.yaml",
                   repo: str = "manifests", tag: str | None = None, offered: list[Choice] | None = None) -> str:
    """The spec text: the starter's header (``spec.version`` the release's ``tag``) and platform
    block, then repos and applications, then the optional pieces ``offered``."""
    header = LIBRARY_VERSION_LINE.sub(lambda _: version_line(tag), HEADER.format(file=file, name=_scalar(o.name)), 1)
    return (header + PLATFORM_BLOCKS[o.platform](o)
            + MANIFESTS_FOOTER.format(repo=repo, uri=_scalar(uri), file=file,
                                      applications="".join(app_text(a, repo) for a in apps))
            + _offered_text(offered or [], uri))
