"""Applications backed by a Helm chart: ``helm template`` into plain objects.

Helm is run as a binary with an argument list (never a shell string); the values go through a
temporary file so they never appear on a command line or in a process listing.

What ``helm install`` does beyond templating is kept where it matters: the release namespace is
created when the chart does not make it (``--create-namespace``), and chart hooks keep their
order. Hooks kfdeploy runs (pre/post install and upgrade) are marked with their apply phase
(``kube.phases``); hooks for events kfdeploy has no counterpart of (test, delete, rollback) are
left out. ``hook-delete-policy: before-hook-creation`` (helm's default) makes a changed hook be
replaced rather than updated, so a hook Job runs again.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from kfdeploy.errors import RenderError
from kfdeploy.labels import HELM_HOOK as HOOK
from kfdeploy.labels import HELM_HOOK_DELETE_POLICY as HOOK_DELETE_POLICY
from kfdeploy.labels import HELM_HOOK_WEIGHT as HOOK_WEIGHT
from kfdeploy.labels import PHASE, REPLACE_ON_CHANGE
from kfdeploy.objects import describe
from kfdeploy.render.charts import fetch_chart, fetched
from kfdeploy.render.fetch import rewrite
from kfdeploy.render.kustomize import network_guard_env
from kfdeploy.render.manifests import load_documents
from kfdeploy.tools import find_tool, tool_identity

if TYPE_CHECKING:
    from kfdeploy.render.repos import RepoResolver

PRE_HOOKS = frozenset({"pre-install", "pre-upgrade"})
POST_HOOKS = frozenset({"post-install", "post-upgrade"})
# Namespaces a cluster always has: never made (or owned, or pruned) by an application.
SYSTEM_NAMESPACES = frozenset({"default", "kube-system", "kube-public", "kube-node-lease"})
LOOKUP = re.compile(r"(?<![\w.$])lookup\s+[\"$(]")  # the template function: `lookup "v1" "Secret" ...`


def find_helm() -> Path:
    """helm as ``kfdeploy.tools`` finds it: $KFDEPLOY_HELM_BINARY, the tools directory, PATH."""
    return Path(find_tool("helm"))


def renderer() -> str:
    """Which helm renders (the render cache keys on it): its file (path, size, modification time)."""
    return "helm " + tool_identity(find_helm())


def chart_ref(chart: str, base_dir: Path) -> str:
    """A local chart path resolved against the spec's folder; a repo chart name unchanged."""
    local = Path(chart) if Path(chart).is_absolute() else base_dir / chart
    return str(local) if chart.startswith((".", "/")) or local.exists() else chart


def helm_env(source: Any, chart: str) -> dict[str, str]:
    """A local chart renders with the network closed (as kustomize does), and so does a chart
    kfdeploy fetched (``render.charts``); only a chart helm must find itself (a repo name helm
    knows, rendering without a repo resolver) opens it."""
    remote = source.repo or chart.startswith(("oci://", "https://", "http://")) or not Path(chart).exists()
    return dict(os.environ) if remote else network_guard_env(os.environ)


def template_args(helm: Path, release: str, chart: str, namespace: str, values_files: list[str],
                  version: str | None, repo: str | None, kube_version: str | None) -> list[str]:
    args = [str(helm), "template", release, chart, "--namespace", namespace, "--include-crds"]
    for f in values_files:
        args += ["--values", f]
    if version:
        args += ["--version", version]
    if repo:
        args += ["--repo", repo]
    if kube_version:
        args += ["--kube-version", kube_version]
    return args


def split_stream(text: str, release: str) -> list[Any]:
    """Documents of a YAML stream, empty ones dropped."""
    return load_documents(text, f"helm application '{release}': helm")


def template(release: str, source: Any, namespace: str, base_dir: Path,
             values: Mapping[str, Any], kube_version: str | None = None,
             repos: RepoResolver | None = None) -> list[Any]:
    """Run ``helm template`` for one application and return its objects (unprocessed). A chart
    from a chart repository, an https URL or an OCI registry is fetched through ``repos`` first
    (``render.charts``), when given."""
    helm = find_helm()
    if repos is not None and fetched(source):
        local = fetch_chart(source, repos, f"helm application '{release}'")
        source = source.model_copy(update={"chart": str(local), "repo": None, "version": None})
    files = [str(f if Path(f).is_absolute() else Path(base_dir) / f) for f in source.values_files]
    with tempfile.TemporaryDirectory(prefix="kfdeploy-helm-") as tmp:
        values_file = Path(tmp) / "values.yaml"
        values_file.write_text(yaml.safe_dump(dict(values), sort_keys=True))
        values_file.chmod(0o600)
        chart = chart_ref(source.chart, Path(base_dir))
        chart = rewrite(chart) if chart.startswith("https://") else chart
        args = template_args(helm, release, chart, namespace, files + [str(values_file)], source.version,
                             rewrite(source.repo) if source.repo else None, kube_version)
        done = subprocess.run(args, capture_output=True, text=True, check=False, env=helm_env(source, chart))
    if done.returncode != 0:
        raise RenderError(f"helm application '{release}': helm template failed:"
                          f" {done.stderr.strip() or done.stdout.strip()}",
                          hint="check helm.chart, helm.version and helm.values in the spec")
    warn_lookup(release, Path(chart_ref(source.chart, Path(base_dir))))
    return mark_hooks(split_stream(done.stdout, release), release)


def lookup_templates(chart: Path) -> list[str]:
    """Templates of a local chart that call ``lookup`` (relative paths); [] for a repo chart."""
    templates = chart / "templates"
    if not templates.is_dir():
        return []
    return sorted(str(f.relative_to(chart)) for f in templates.rglob("*") if f.is_file()
                  and LOOKUP.search(f.read_text(errors="replace")))


def warn_lookup(release: str, chart: Path) -> None:
    """Say, as helm users expect, that ``lookup`` finds nothing under ``helm template`` (a
    generated Secret value is kept all the same: ``render.volatile``)."""
    found = lookup_templates(chart)
    if found:
        print(f"kfdeploy: warning: helm application '{release}': {', '.join(found)} call `lookup`, which"
              " finds nothing under `helm template`; a Secret value the chart keeps that way (a generated"
              " password) kfdeploy keeps from the first apply, but anything else it reads from the"
              " cluster is not there (set it in helm.values)", file=sys.stderr, flush=True)


def _annotations(doc: Any) -> dict[str, Any]:
    meta = doc.get("metadata") if isinstance(doc, dict) else None
    annotations = meta.get("annotations") if isinstance(meta, dict) else None
    return annotations if isinstance(annotations, dict) else {}


def mark_hooks(docs: list[Any], release: str) -> list[Any]:
    """Hooks kfdeploy runs, marked with their phase; the others left out."""
    out = []
    for doc in docs:
        annotations = _annotations(doc)
        events = {e.strip() for e in str(annotations.get(HOOK, "")).split(",") if e.strip()}
        if not events:
            out.append(doc)
            continue
        when = "pre" if events & PRE_HOOKS else "post" if events & POST_HOOKS else None
        if when is None:
            continue  # test, delete and rollback hooks: kfdeploy has no such event
        weight = str(annotations.get(HOOK_WEIGHT, "0")).strip()
        if not weight.lstrip("-").isdigit():
            raise RenderError(f"helm application '{release}': {describe(doc)}: {HOOK_WEIGHT} must be an integer, "
                              f"not {weight!r}", hint="fix the chart's hook annotation")
        annotations[PHASE] = f"{when}:{int(weight)}"
        policies = {p.strip() for p in str(annotations.get(HOOK_DELETE_POLICY, "")).split(",") if p.strip()}
        if not policies or "before-hook-creation" in policies:
            annotations[REPLACE_ON_CHANGE] = "true"
        out.append(doc)
    return out


def own_namespace(objects: list[dict[str, Any]], namespace: str, made_elsewhere: set[str]) -> list[dict[str, Any]]:
    """The chart's objects, plus its release namespace when nothing in the spec makes it."""
    if namespace in SYSTEM_NAMESPACES or namespace in made_elsewhere:
        return objects
    return [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}}, *objects]
