"""Verbs of GitOps: ``export`` (a Git-ready tree for Flux or Argo CD) and ``credentials seed``.

``export`` renders each spec offline, exactly as ``build`` does (credentials are placeholders),
keeps every object that holds a credential out of the tree, and writes the layout of
``kfdeploy.gitops.layout``. Output is byte-for-byte deterministic, so a re-export without a
change leaves Git clean. Files of earlier exports that this one no longer writes are removed.

``credentials seed`` reads (or generates and stores) the spec's credentials in the cluster, as
``apply`` does, and applies only the Secrets the export left out, before the engine's first
sync; the engine never sees, overwrites or prunes them.

``export --sops-age-recipient`` (Flux) writes those Secrets into the tree instead, encrypted by
``sops``: it reads their values from each spec's cluster exactly as ``credentials seed`` does
(generating and storing new ones on the first run, never rotating them) and applies nothing.
An encrypted file is kept while its keyed digest matches (``kfdeploy.gitops.sops``), so a
re-export without a change writes no byte.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from kfdeploy.errors import UsageError
from kfdeploy.findings import Finding
from kfdeploy.gitops import sops
from kfdeploy.gitops.layout import Format, Layout, Settings, layout
from kfdeploy.gitops.tree import ClusterExport, Obj, cluster_export
from kfdeploy.kinds import NAMESPACE, group_kind
from kfdeploy.kube import credential_store
from kfdeploy.kube.client import Cluster
from kfdeploy.kube.inventory import applyset_id, stamp
from kfdeploy.objects import ObjectKey, describe_key, object_key
from kfdeploy.options import Options
from kfdeploy.preflight import published
from kfdeploy.render import Session
from kfdeploy.workflow.render_verbs import yaml_stream
from kfdeploy.workflow.session import connect, load_spec, printer, render_session

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
    encrypted: list[str] = field(default_factory=list)  # SOPS files encrypted by this run
    warnings: list[Finding] = field(default_factory=list)  # published credentials the tree carries

    def to_data(self) -> dict[str, Any]:
        return {"directory": self.directory, "format": self.format, "clusters": self.clusters,
                "shared": self.shared, "written": self.written, "removed": self.removed,
                "encrypted": self.encrypted, "warnings": [w.to_data() for w in self.warnings]}

    def text(self) -> str:
        lines = [f"{path}  {'encrypted' if path in self.encrypted else 'written'}" for path in self.written]
        lines += [w.line() for w in self.warnings]
        lines += [f"{path}  removed" for path in self.removed]
        for c in self.clusters:
            own = f"; own: {', '.join(c['ownApplications'])}" if c["ownApplications"] else ""
            lines.append(f"cluster {c['name']}: {len(c['applications'])} application(s){own}")
            if c.get("sops"):
                lines.append(f"  {len(c['seeded'])} Secret(s) hold credentials: SOPS-encrypted in the tree,"
                             f" decrypted by Flux with the '{sops.DECRYPTION_SECRET}' Secret")
            elif c["seeded"]:
                lines.append(f"  {len(c['seeded'])} Secret(s) hold credentials and are not exported;"
                             f" seed them before the first sync: {c['seedCommand']}")
        lines.append(f"exported {len(self.clusters)} cluster(s) for {self.format} into {self.directory}/"
                     f" ({len(self.shared)} shared application folder(s));"
                     + (" no file changed." if not self.written and not self.removed else ""))
        return "\n".join(lines)


@dataclass
class SpecExport:
    """One spec's export, the published credentials it carries (preflight's credentials check),
    and the render session that made it (the credential Secrets are rendered again from it)."""

    export: ClusterExport
    warnings: list[Finding]
    session: Session


def export_cluster(opts: Options, spec_file: str) -> SpecExport:
    spec = load_spec(spec_file)
    session = render_session(dataclasses.replace(opts, file=spec_file), spec, masked=True)
    rendered = session.render()
    warnings = [f for f in published.findings(spec, rendered, session.repos) if f.status != "OK"]
    return SpecExport(cluster_export(spec.metadata.name, rendered), warnings, session)


def export(opts: Options, files: tuple[str, ...], fmt: Format, out_dir: str, repo_url: str,
           branch: str = "main", timeout: int = 600, sops_age_recipient: tuple[str, ...] = (),
           sops_rotate: bool = False) -> ExportResult:
    """Write the export of every spec in ``files`` (one cluster each) into ``out_dir``; with
    ``sops_age_recipient`` (Flux), the credential Secrets too, SOPS-encrypted."""
    files = files or (opts.file,)
    recipients = sops.check_recipients(sops_age_recipient)
    if recipients and fmt != "flux":
        raise UsageError("--sops-age-recipient is for --format flux: Argo CD does not decrypt SOPS by itself",
                         hint="seed the credentials with `kfdeploy credentials seed -f SPEC` (the Argo CD export"
                              " leaves those Secrets out), or export for Flux")
    if (sops_rotate or opts.kubeconfig or opts.context) and not recipients:
        flag = "--sops-rotate" if sops_rotate else "--kubeconfig/--context"
        raise UsageError(f"{flag} is for --sops-age-recipient, which is not given (export reads no cluster without it)",
                         hint="add --sops-age-recipient AGE1... (one per recipient), or leave the flag out")
    if recipients and (opts.kubeconfig or opts.context) and len(files) > 1:
        raise UsageError("--kubeconfig/--context name one cluster, and the export has several specs",
                         hint="export the specs one by one, or leave the flags out (each spec's platform names one)")
    binary = sops.sops_binary() if recipients else ""
    done = [export_cluster(opts, f) for f in files]
    exports = [d.export for d in done]
    names = [e.cluster for e in exports]
    if len(set(names)) != len(names):
        dup = next(n for n in names if names.count(n) > 1)
        raise UsageError(f"two specs are named '{dup}' (metadata.name); each cluster of an export needs its own name",
                         hint="give every spec its own metadata.name")
    spec_of = dict(zip(names, files, strict=True))
    seed = {c: f"kfdeploy credentials seed -f {f}" for c, f in spec_of.items()}
    tree = layout(exports, Settings(fmt, repo_url, branch, f"{max(1, timeout // 60)}m", bool(recipients)),
                  seed.__getitem__)
    contents = {p: HEADER + yaml_stream(objs) for p, objs in tree.files.items()}
    contents.update({p: MD_HEADER + text for p, text in tree.texts.items()})
    sessions = {d.export.cluster: d.session for d in done}
    encrypted = sealed_files(opts, Path(out_dir), tree, spec_of, sessions, binary, recipients, sops_rotate, contents)
    written, removed = write_tree(Path(out_dir), contents)
    clusters = [{"name": e.cluster, "applications": [a.name for a in e.apps],
                 "ownApplications": tree.per_cluster[e.cluster], "seedCommand": seed[e.cluster],
                 "sops": bool(recipients),
                 "seeded": [describe_key(object_key(s)) for a in e.apps for s in a.seeded]} for e in exports]
    return ExportResult(out_dir, fmt, clusters, tree.shared, written, removed, encrypted,
                        [w for d in done for w in d.warnings])


def sealed_files(opts: Options, root: Path, tree: Layout, spec_of: dict[str, str], sessions: dict[str, Session],
                 binary: str, recipients: list[str], rotate: bool, contents: dict[str, str]) -> list[str]:
    """Add the SOPS-encrypted Secrets of ``tree.sealed`` to ``contents``, with the values each
    cluster holds; a file whose digest still matches is kept as it is. Returns the paths
    encrypted by this run."""
    encrypted = []
    for cluster_name in sorted({c for c, _ in tree.sealed.values()}):
        paths = {p: object_key(s) for p, (c, s) in tree.sealed.items() if c == cluster_name}
        spec_opts = dataclasses.replace(opts, file=spec_of[cluster_name])
        found = credential_secrets(spec_opts, set(paths.values()), sessions[cluster_name])
        key, by_key = found.key, {object_key(s): s for s in found.secrets}
        for path, secret_key in paths.items():
            secret = by_key[secret_key]
            stamped = sops.with_digest(secret, sops.digest(key, secret, recipients))
            earlier = exported_text(root / path)
            digest = sops.recorded_digest(stamped)
            if not rotate and earlier and sops.recorded_digest(first_document(earlier)) == digest:
                contents[path] = earlier
                continue
            contents[path] = HEADER + sops.encrypt(binary, yaml_stream([stamped]), recipients,
                                                   describe_key(secret_key), sops.values_of(secret))
            encrypted.append(path)
    return encrypted


def exported_text(path: Path) -> str:
    """The file as an earlier export wrote it ('' when absent or not the export's)."""
    return path.read_text() if path.is_file() and _exported(path) else ""


def first_document(text: str) -> Obj | None:
    try:
        doc = next(yaml.safe_load_all(text), None)
    except yaml.YAMLError:
        return None
    return doc if isinstance(doc, dict) else None


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


@dataclass(frozen=True)
class ClusterSecrets:
    cluster: Cluster
    secrets: list[Obj]  # with the credentials the cluster holds
    key: bytes  # the cluster's per-install checksum key
    stored: bool  # whether the credential store was written (values generated or changed)


def credential_secrets(opts: Options, keys: set[ObjectKey], session: Session) -> ClusterSecrets:
    """The Secrets ``keys`` of the spec, with the credentials its cluster holds (``session``,
    which rendered the export, renders again only the sources that read them). New credentials
    are generated and stored first, as apply does; nothing is rotated. The store is marked as
    reconciled by a GitOps engine."""
    from kfdeploy.workflow.session import cluster_credentials

    spec = load_spec(opts.file)
    cluster = connect(opts, spec, printer(opts), create=False)
    credentials = cluster_credentials(cluster, spec)
    secrets = [o for o in session.render_again(credentials).objects if object_key(o) in keys]
    key = credentials.checksum_key()
    stored = credentials.changed()
    if stored or not credential_store.reconciled_by_gitops(cluster, spec.metadata.name):
        credential_store.write(cluster, spec.metadata.name, credentials.merged())
        credential_store.mark_gitops(cluster, spec.metadata.name)
    return ClusterSecrets(cluster, secrets, key, stored)


def seed(opts: Options) -> SeedResult:
    """Apply the Secrets an export leaves out, with the credentials the cluster holds (new
    ones generated and stored first, as apply does); nothing else is applied."""
    done = export_cluster(opts, opts.file)
    spec = done.session.spec
    left_out = {object_key(s) for a in done.export.apps for s in a.seeded}
    found = credential_secrets(opts, left_out, done.session)
    cluster, secrets = found.cluster, found.secrets
    set_id = applyset_id(spec.metadata.name)
    # A missing namespace is created as the export writes it: one created bare owns no field, so
    # an engine's first apply finds it without managed fields, and Flux reports it configured on
    # every reconcile after that.
    exported = {o["metadata"]["name"]: o for a in done.export.apps for o in a.objects if group_kind(o) == NAMESPACE}
    for namespace in sorted({s["metadata"]["namespace"] for s in secrets}):
        ns = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}}
        if cluster.get(ns) is None:
            cluster.apply(exported.get(namespace, ns))
    for secret in secrets:
        cluster.apply(stamp(secret, set_id), force=True)
    return SeedResult(spec.metadata.name, [describe_key(object_key(s)) for s in secrets], found.stored)
