"""Verbs of GitOps: ``export`` (a Git-ready tree for Flux or Argo CD) and ``credentials seed``.

``export`` renders each spec offline, exactly as ``build`` does (credentials are placeholders),
keeps every object that holds a credential out of the tree, and writes the layout of
``kfdeploy.gitops.layout``. Output is byte-for-byte deterministic, so a re-export without a
change leaves Git clean. Files of earlier exports that this one no longer writes are removed.

``credentials seed`` reads (or generates and stores) the spec's credentials in the cluster, as
``apply`` does, and applies only the Secrets the export left out, before the engine's first
sync; the engine never sees, overwrites or prunes them.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kfdeploy.errors import UsageError
from kfdeploy.gitops.layout import Format, Settings, layout
from kfdeploy.gitops.tree import ClusterExport, cluster_export
from kfdeploy.kube import credential_store
from kfdeploy.kube.inventory import applyset_id, stamp
from kfdeploy.objects import describe_key, object_key
from kfdeploy.options import Options
from kfdeploy.render import render
from kfdeploy.workflow.render_verbs import load, yaml_stream
from kfdeploy.workflow.session import connect, load_spec, printer

HEADER = "# Exported by kfdeploy export; do not edit (edit the spec and export again).\n"
MD_HEADER = "<!-- Exported by kfdeploy export; do not edit. -->\n"
EXPORTED_DIRS = ("apps", "clusters")


@dataclass(frozen=True)
class ExportResult:
    directory: str
    format: str
    clusters: list[dict[str, Any]]
    shared: list[str]
    written: list[str] = field(default_factory=list)  # files whose content changed
    removed: list[str] = field(default_factory=list)

    def to_data(self) -> dict[str, Any]:
        return {"directory": self.directory, "format": self.format, "clusters": self.clusters,
                "shared": self.shared, "written": self.written, "removed": self.removed}

    def text(self) -> str:
        lines = [f"{path}  written" for path in self.written] + [f"{path}  removed" for path in self.removed]
        for c in self.clusters:
            own = f"; own: {', '.join(c['ownApplications'])}" if c["ownApplications"] else ""
            lines.append(f"cluster {c['name']}: {len(c['applications'])} application(s){own}")
            if c["seeded"]:
                lines.append(f"  {len(c['seeded'])} Secret(s) hold credentials and are not exported;"
                             f" seed them before the first sync: {c['seedCommand']}")
        lines.append(f"exported {len(self.clusters)} cluster(s) for {self.format} into {self.directory}/"
                     f" ({len(self.shared)} shared application folder(s));"
                     + (" no file changed." if not self.written and not self.removed else ""))
        return "\n".join(lines)


def export_cluster(opts: Options, spec_file: str) -> ClusterExport:
    spec = load_spec(spec_file)
    return cluster_export(spec.metadata.name, load(dataclasses.replace(opts, file=spec_file)))


def export(opts: Options, files: tuple[str, ...], fmt: Format, out_dir: str, repo_url: str,
           branch: str = "main", timeout: int = 600) -> ExportResult:
    """Write the export of every spec in ``files`` (one cluster each) into ``out_dir``."""
    exports = [export_cluster(opts, f) for f in files or (opts.file,)]
    names = [e.cluster for e in exports]
    if len(set(names)) != len(names):
        dup = next(n for n in names if names.count(n) > 1)
        raise UsageError(f"two specs are named '{dup}' (metadata.name); each cluster of an export needs its own name",
                         hint="give every spec its own metadata.name")
    seed = {e.cluster: f"kfdeploy credentials seed -f {f}" for e, f in zip(exports, files or (opts.file,), strict=True)}
    tree = layout(exports, Settings(fmt, repo_url, branch, f"{max(1, timeout // 60)}m"), seed.__getitem__)
    contents = {p: HEADER + yaml_stream(objs) for p, objs in tree.files.items()}
    contents.update({p: MD_HEADER + text for p, text in tree.texts.items()})
    written, removed = write_tree(Path(out_dir), contents)
    clusters = [{"name": e.cluster, "applications": [a.name for a in e.apps],
                 "ownApplications": tree.per_cluster[e.cluster], "seedCommand": seed[e.cluster],
                 "seeded": [describe_key(object_key(s)) for a in e.apps for s in a.seeded]} for e in exports]
    return ExportResult(out_dir, fmt, clusters, tree.shared, written, removed)


def write_tree(root: Path, contents: dict[str, str]) -> tuple[list[str], list[str]]:
    """Write files whose content differs; remove files an earlier export wrote that this one
    does not (and folders left empty). Files without the export's header are never touched."""
    written = []
    for rel, text in sorted(contents.items()):
        path = root / rel
        if path.exists() and path.read_text() == text:
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        written.append(rel)
    removed = []
    for top in EXPORTED_DIRS:
        for path in sorted((root / top).rglob("*")) if (root / top).is_dir() else []:
            rel = path.relative_to(root).as_posix()
            if path.is_file() and rel not in contents and _exported(path):
                path.unlink()
                removed.append(rel)
        for folder in sorted((p for p in (root / top).rglob("*") if p.is_dir()), reverse=True) \
                if (root / top).is_dir() else []:
            if not any(folder.iterdir()):
                folder.rmdir()
    return written, removed


def _exported(path: Path) -> bool:
    with path.open(errors="replace") as f:
        first = f.readline()
    return first in (HEADER, MD_HEADER)


# -- credentials seed -------------------------------------------------------------------------------

@dataclass(frozen=True)
class SeedResult:
    kfdef: str
    seeded: list[str]
    stored: bool  # whether the credential store was written (values generated or changed)

    def to_data(self) -> dict[str, Any]:
        return {"kfdef": self.kfdef, "seeded": self.seeded, "storeWritten": self.stored}

    def text(self) -> str:
        lines = [f"seeded {s}" for s in self.seeded]
        lines.append(f"Seeded {len(self.seeded)} Secret(s) of '{self.kfdef}'"
                     + ("; generated credentials stored in the cluster." if self.stored else
                        "; credentials as the cluster already held them."))
        return "\n".join(lines)


def seed(opts: Options) -> SeedResult:
    """Apply the Secrets an export leaves out, with the credentials the cluster holds (new
    ones generated and stored first, as apply does); nothing else is applied."""
    from kfdeploy.workflow.session import cluster_credentials

    spec = load_spec(opts.file)
    left_out = {object_key(s) for a in cluster_export(spec.metadata.name, load(opts)).apps for s in a.seeded}
    cluster = connect(opts, spec, printer(opts), create=False)
    credentials = cluster_credentials(cluster, spec)
    secrets = [o for o in render(spec, credentials=credentials).objects if object_key(o) in left_out]
    stored = credentials.changed()
    if stored or not credential_store.reconciled_by_gitops(cluster, spec.metadata.name):
        credential_store.write(cluster, spec.metadata.name, credentials.merged())
        credential_store.mark_gitops(cluster, spec.metadata.name)
    set_id = applyset_id(spec.metadata.name)
    for namespace in sorted({s["metadata"]["namespace"] for s in secrets}):
        ns = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}}
        if cluster.get(ns) is None:
            cluster.apply(ns)
    for secret in secrets:
        cluster.apply(stamp(secret, set_id), force=True)
    return SeedResult(spec.metadata.name, [describe_key(object_key(s)) for s in secrets], stored)
