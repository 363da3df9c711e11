"""The repository layout of an export, for one cluster or a fleet.

::

    apps/<app>/                     an application every cluster that has it renders identically
      kustomization.yaml            (kustomize: lists manifests.yaml)
      manifests.yaml                its objects, hash-stamped, protections annotated
    clusters/<cluster>/
      README.md                     what to seed before the first sync, and how
      apps/<app>/                   an application this cluster renders differently
      sops/<app>/                   with --sops-age-recipient (Flux): the application's folder
                                    plus its credential Secrets, SOPS-encrypted
      flux: kustomization.yaml, source.yaml (GitRepository + the root Kustomization),
            flux/kustomization.yaml, flux/applications.yaml (one Kustomization per application)
      argocd: argocd/root.yaml (the app-of-apps), argocd/argocd-cm.yaml (health checks),
              argocd/apps/<app>.yaml (one Application per application)

A cluster is a KfDef; its name is ``metadata.name``. Paths are relative to the repository root.
"""

from __future__ import annotations

import dataclasses
import json
import posixpath
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from kfdeploy.gitops import argocd, flux
from kfdeploy.gitops.sops import AGE_KEY, DECRYPTION_SECRET
from kfdeploy.gitops.tree import ClusterExport, Obj

Format = Literal["flux", "argocd"]
PROTECT: dict[Format, Callable[[Obj], Obj]] = {"flux": flux.protect, "argocd": argocd.protect}


@dataclass(frozen=True)
class Settings:
    """What the engine reads: the export's format, the repository and branch, the wait timeout;
    ``sops``: credential Secrets go to Git SOPS-encrypted instead of being seeded (Flux only)."""

    format: Format
    repo_url: str
    branch: str = "main"
    timeout: str = "10m"
    sops: bool = False


@dataclass(frozen=True)
class Layout:
    files: dict[str, list[Obj]]  # path -> objects (a YAML stream)
    texts: dict[str, str]  # path -> text (READMEs)
    shared: list[str]  # applications written once under apps/
    per_cluster: dict[str, list[str]]  # cluster -> applications written under its own folder
    # path -> (cluster, the Secret as the offline render has it): files the workflow writes
    # with the Secret's real values, SOPS-encrypted (with Settings.sops only)
    sealed: dict[str, tuple[str, Obj]] = dataclasses.field(default_factory=dict)


def kustomize_file(resources: Sequence[str]) -> list[Obj]:
    return [{"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization",
             "resources": list(resources)}]


def app_paths(exports: Sequence[ClusterExport], fmt: Format) -> tuple[dict[tuple[str, str], str], dict[str, list[Obj]]]:
    """((cluster, app) -> folder, folder -> objects): one shared folder for an application
    every cluster renders alike, else one folder per cluster."""
    variants: dict[str, dict[str, list[Obj]]] = {}
    for export in exports:
        for app in export.apps:
            variants.setdefault(app.name, {})[export.cluster] = [PROTECT[fmt](o) for o in app.objects]
    folders: dict[tuple[str, str], str] = {}
    contents: dict[str, list[Obj]] = {}
    for name, by_cluster in variants.items():
        alike = len({json.dumps(objs, sort_keys=True) for objs in by_cluster.values()}) == 1
        for cluster, objs in by_cluster.items():
            folder = f"apps/{name}" if alike else f"clusters/{cluster}/apps/{name}"
            folders[(cluster, name)] = folder
            contents[folder] = objs
    return folders, contents


def layout(exports: Sequence[ClusterExport], settings: Settings, seed_command: Callable[[str], str]) -> Layout:
    """Every file of the export. ``seed_command(cluster)`` is the command that seeds a cluster."""
    folders, contents = app_paths(exports, settings.format)
    files: dict[str, list[Obj]] = {}
    for folder, objs in contents.items():
        files[f"{folder}/kustomization.yaml"] = kustomize_file(["manifests.yaml"])
        files[f"{folder}/manifests.yaml"] = objs
    texts = {}
    sealed: dict[str, tuple[str, Obj]] = {}
    paths = dict(folders)  # (cluster, app) -> the folder its Flux Kustomization reads
    for export in exports:
        base = f"clusters/{export.cluster}"
        if settings.format == "flux":
            for a in export.apps if settings.sops else []:
                if a.seeded:
                    folder = folders[(export.cluster, a.name)]
                    paths[(export.cluster, a.name)] = own = f"{base}/sops/{a.name}"
                    names = {secret_file(s): s for s in a.seeded}
                    files[f"{own}/kustomization.yaml"] = kustomize_file([posixpath.relpath(folder, own), *names])
                    sealed.update({f"{own}/{n}": (export.cluster, s) for n, s in names.items()})
            files[f"{base}/kustomization.yaml"] = kustomize_file(["source.yaml"])
            files[f"{base}/source.yaml"] = flux.source(export, settings.repo_url, settings.branch)
            files[f"{base}/flux/kustomization.yaml"] = kustomize_file(["applications.yaml"])
            files[f"{base}/flux/applications.yaml"] = [
                flux.kustomization(export, a, paths[(export.cluster, a.name)], settings.timeout,
                                   decrypt=settings.sops and bool(a.seeded)) for a in export.apps]
        else:
            files[f"{base}/argocd/root.yaml"] = [argocd.root(export, settings.repo_url, settings.branch)]
            files[f"{base}/argocd/argocd-cm.yaml"] = [argocd.health_config()]
            for a in export.apps:
                files[f"{base}/argocd/apps/{a.name}.yaml"] = [
                    argocd.application(export, a, folders[(export.cluster, a.name)], settings.repo_url,
                                       settings.branch)]
        texts[f"{base}/README.md"] = cluster_readme(export, settings, seed_command(export.cluster))
    shared = sorted({n for (_, n), f in folders.items() if f.startswith("apps/")})
    per_cluster = {e.cluster: [a.name for a in e.apps if not folders[(e.cluster, a.name)].startswith("apps/")]
                   for e in exports}
    return Layout(dict(sorted(files.items())), texts, shared, per_cluster, dict(sorted(sealed.items())))


def secret_file(secret: Obj) -> str:
    """The file of one encrypted Secret in its application's ``sops/`` folder."""
    meta = secret["metadata"]
    return f"{meta.get('namespace') or 'cluster'}.{meta['name']}.yaml"


def cluster_readme(export: ClusterExport, settings: Settings, seed: str) -> str:
    fmt = settings.format
    lines = [f"# Cluster {export.cluster} (exported by kfdeploy for {'Flux' if fmt == 'flux' else 'Argo CD'})",
             "", "Generated: edit the KfDef and export again instead of editing these files.", ""]
    seeded = [(a.name, s) for a in export.apps for s in a.seeded]
    if seeded and settings.sops:
        lines += sops_readme(seeded)
    elif seeded:
        lines += ["These Secrets hold credentials and are not in this repository. Seed them into the",
                  "cluster before the first sync (and after adding an application that needs one):", "",
                  f"    {seed}", ""]
        lines += [f"- {s['metadata'].get('namespace', '')}/{s['metadata']['name']} ({app})" for app, s in seeded]
        lines.append("")
    else:
        lines += ["No Secret of this cluster holds a credential: nothing to seed.", ""]
    if fmt == "flux":
        lines += ["Flux: point `source.yaml`'s GitRepository at this repository, then apply this folder",
                  f"(`kubectl apply -k clusters/{export.cluster}`) or bootstrap Flux with this path."]
    else:
        lines += ["Argo CD: merge `argocd/argocd-cm.yaml` into argocd-cm, then apply `argocd/root.yaml`",
                  "(the app-of-apps)."]
    return "\n".join(lines) + "\n"


def sops_readme(seeded: list[tuple[str, Obj]]) -> list[str]:
    lines = ["These Secrets hold credentials; they are in this repository SOPS-encrypted for the",
             "export's age recipients (`sops/<app>/`), and Flux decrypts them with the age key of the",
             f"Secret `{DECRYPTION_SECRET}` in flux-system. Create it once, from the private key:", "",
             f"    kubectl -n flux-system create secret generic {DECRYPTION_SECRET} \\",
             f"      --from-file={AGE_KEY}=/path/to/age.key", ""]
    lines += [f"- {s['metadata'].get('namespace', '')}/{s['metadata']['name']} ({app})" for app, s in seeded]
    return lines + [""]
