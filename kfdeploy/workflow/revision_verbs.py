"""Revisions as verbs: the record every changing apply keeps, ``history``, ``rollback``, and the
live revision that ``status`` names. The store is ``kfdeploy.kube.revisions``.

A rollback re-renders a recorded spec and lock and hands it to ``deploy_verbs.apply``: the same
preflight, plan, confirmation, prune protections and ``--recreate`` gate as any apply, and the
same credential store (generated credentials are read, never rotated). It changes the cluster,
never the spec file, and writes nothing beside it: the recorded spec and lock are rendered from
memory.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from kfdeploy import __version__, kinds
from kfdeploy.errors import FetchError, KfdeployError, UsageError
from kfdeploy.kube.client import Cluster
from kfdeploy.kube.engine import AppResult, SpecPlan
from kfdeploy.kube.revisions import (
    PLAN_ACTIONS,
    SECRET_NOT_RECORDED,
    Outcome,
    Revision,
    RevisionStore,
    redact_secrets,
)
from kfdeploy.options import ApplyFlags, HistoryFlags, Options, RollbackFlags
from kfdeploy.progress import Printer
from kfdeploy.render.lock import Lock
from kfdeploy.render.lock import from_text as lock_from_text
from kfdeploy.spec import KfDef, parse_spec
from kfdeploy.workflow.revision_changes import changes, migrations_crossed
from kfdeploy.workflow.session import connect, load_spec
from kfdeploy.workflow.session import printer as printer_for

if TYPE_CHECKING:
    from kfdeploy.workflow.deploy_verbs import ApplyResult, Confirm, PlanResult


@dataclass(frozen=True)
class RollbackTo:
    """What ``apply`` runs instead of the spec file on a rollback: a recorded spec and its number."""

    spec: KfDef
    number: int


# -- what a revision records ------------------------------------------------------------------------

def lock_text(lock: Lock) -> str | None:
    """The text of the lock a render used (``kfdeploy.render.lock``); None when it pins nothing."""
    return lock.text() if lock.sources else None


def recorded_spec(spec: KfDef) -> dict[str, Any]:
    """The spec as the user wrote it (no defaults filled in), literal secret values replaced."""
    return redact_secrets(spec.model_dump(mode="json", by_alias=True, exclude_unset=True))


def history_limit(spec: KfDef, flags: ApplyFlags) -> int:
    """How many revisions to keep: the flag, else spec.revisionHistoryLimit."""
    return flags.revision_history_limit or spec.spec.revision_history_limit


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Recording:
    """An apply's revision while it runs; ``finish`` writes the outcome."""

    store: RevisionStore | None
    revision: Revision | None = None

    def finish(self, results: list[AppResult]) -> None:
        self._end("failed" if any(r.outcome in ("failed", "skipped") for r in results) else "healthy")

    def _end(self, outcome: Outcome) -> None:
        if self.store is None or self.revision is None:
            return
        self.revision.outcome, self.revision.finished = outcome, _now()
        self.store.write(self.revision)


@contextmanager
def recorded(cluster: Cluster, spec: KfDef, plan: SpecPlan, flags: ApplyFlags, printer: Printer, lock: Lock,
             rollback: RollbackTo | None = None) -> Iterator[Recording]:
    """Record a revision as in-progress before the apply's first change (only when the plan
    changes something), trim the history, and mark it failed or interrupted when the apply
    raises; the body calls ``finish`` with the results. ``lock`` is the one the render used."""
    if not plan.has_changes:
        yield Recording(None)
        return
    store = RevisionStore(cluster, spec.metadata.name)
    revision = Revision(number=store.next_number(), time=_now(), user=store.user(),
                        kfdeploy_version=__version__, spec=recorded_spec(spec), spec_hash=spec.spec_hash(),
                        lock=lock_text(lock), applications={n: d.hash for n, d in plan.desired.items()},
                        plan={a: sum(p.count(a) for p in plan.all()) for a in PLAN_ACTIONS},
                        rollback_to=rollback.number if rollback else None)
    store.write(revision)
    store.trim(history_limit(spec, flags))
    printer.line(f"revision {revision.number} recorded (in progress)")
    recording = Recording(store, revision)
    try:
        yield recording
    except BaseException as e:
        with suppress(Exception):  # the apply's own error is the one to report
            recording._end("interrupted" if isinstance(e, KeyboardInterrupt) else "failed")
        raise


def _store(opts: Options, spec: KfDef) -> RevisionStore:
    return RevisionStore(connect(opts, spec, printer_for(opts), create=False), spec.metadata.name)


def live(cluster: Cluster, spec: KfDef) -> dict[str, Any] | None:
    """The newest revision (the one live in the cluster) for ``status``; None before any."""
    revisions = RevisionStore(cluster, spec.metadata.name).all()
    if not revisions:
        return None
    last = revisions[-1]
    return {"revision": last.number, "outcome": last.shown_outcome, "finished": last.outcome != "in-progress",
            "time": last.time, "specMatches": last.spec_hash == spec.spec_hash(),
            **({"rollbackTo": last.rollback_to} if last.rollback_to else {})}


def live_text(data: dict[str, Any] | None) -> str:
    if data is None:
        return "Revision: none recorded (an apply that changes the cluster records one)"
    text = f"Revision {data['revision']}: {data['outcome']}, applied {data['time']}"
    text += f" (a rollback to revision {data['rollbackTo']})" if data.get("rollbackTo") else ""
    if not data["finished"]:
        text += "; the apply did not finish: re-run apply, or rollback"
    if not data["specMatches"]:
        text += "; the spec file differs from it (plan shows what apply would change)"
    return text


# -- history ----------------------------------------------------------------------------------------

@dataclass
class HistoryResult:
    revisions: list[Revision] = field(default_factory=list)

    def _changes(self) -> list[list[str]]:
        out, previous = [], None
        for r in self.revisions:
            if previous is None and r.number > 1:
                lines = ["(the revision before it is no longer kept)"]
            else:
                lines = changes(previous.spec if previous else None, r.spec)
            out.append(([f"rollback to revision {r.rollback_to}"] if r.rollback_to else []) + lines)
            previous = r
        return out

    def to_data(self) -> dict[str, Any]:
        return {"revisions": [
            {"revision": r.number, "time": r.time, "finished": r.finished, "user": r.user,
             "kfdeployVersion": r.kfdeploy_version, "outcome": r.shown_outcome, "plan": r.plan,
             "applications": r.applications, "changes": c,
             **({"rollbackTo": r.rollback_to} if r.rollback_to else {})}
            for r, c in zip(self.revisions, self._changes(), strict=True)]}

    def text(self) -> str:
        if not self.revisions:
            return "No revisions recorded: an apply that changes the cluster records one."
        lines = [f"{'REVISION':<9} {'APPLIED':<21} {'OUTCOME':<12} {'USER':<20} {'KFDEPLOY':<9} CHANGES"]
        for r, c in zip(self.revisions, self._changes(), strict=True):
            lines.append(f"{r.number:<9} {r.time:<21} {r.shown_outcome:<12} {r.user[:20]:<20} "
                         f"{r.kfdeploy_version:<9} {c[0] if c else ''}")
            lines.extend(f"{'':<75}{more}" for more in c[1:])
        return "\n".join(lines)


@dataclass
class RevisionSpec:
    """One revision's spec, printed as YAML that can be written over the spec file; with
    ``lock`` its recorded lock instead, to be written beside it (``kfdef.lock``)."""

    revision: Revision
    lock: bool = False

    def to_data(self) -> dict[str, Any]:
        if self.lock:
            return dict(yaml.safe_load(self.revision.lock or "") or {})
        return self.revision.spec

    def text(self) -> str:
        if self.lock:
            return self.revision.lock or ""
        return yaml.safe_dump(self.revision.spec, sort_keys=False)


def history(opts: Options, flags: HistoryFlags) -> HistoryResult | RevisionSpec:
    """The kept revisions, oldest first; with ``--revision N`` that revision's spec (or lock)."""
    spec = load_spec(opts.file)
    if flags.lock and flags.revision is None:
        raise UsageError("--lock prints one revision's lock: give --revision N too",
                         hint=f"kfdeploy history -f {opts.file} lists the revisions")
    revisions = _store(opts, spec).all()
    if flags.revision is None:
        return HistoryResult(revisions)
    revision = _find(revisions, flags.revision, spec)
    if flags.lock:
        if revision.lock is None:
            raise KfdeployError(f"KfDef {spec.metadata.name}: revision {revision.number} pins no download"
                                " (its sources are all local), so it has no lock",
                                hint="the spec alone re-renders it: history --revision N")
        return RevisionSpec(revision, lock=True)
    redacted = [s["name"] for s in revision.spec.get("spec", {}).get("secrets", [])
                if (s.get("secretSource", {}).get("literalSource") or {}).get("value") == SECRET_NOT_RECORDED]
    if redacted:
        Printer().line(f"spec.secrets {', '.join(redacted)}: literal values are not recorded; put them back"
                       " (or read them from the environment with envSource) before applying this spec")
    return RevisionSpec(revision)


def _find(revisions: list[Revision], number: int, spec: KfDef) -> Revision:
    for r in revisions:
        if r.number == number:
            return r
    kept = ", ".join(str(r.number) for r in revisions) or "none"
    raise UsageError(f"KfDef {spec.metadata.name}: revision {number} is not kept; kept revisions: {kept}",
                     hint=f"kfdeploy history -f {spec.source} lists them")


# -- rollback ---------------------------------------------------------------------------------------

def rollback_target(revisions: list[Revision], to: int | None, spec: KfDef) -> Revision:
    """``--to N``, else the newest healthy revision before the live (newest) one."""
    if not revisions:
        raise KfdeployError(f"KfDef {spec.metadata.name}: no revisions are recorded, nothing to roll back to",
                            hint="revisions are recorded by applies that change the cluster")
    if to is not None:
        return _find(revisions, to, spec)
    earlier = [r for r in revisions[:-1] if r.outcome == "healthy"]
    if not earlier:
        raise KfdeployError(f"KfDef {spec.metadata.name}: no healthy revision before revision "
                            f"{revisions[-1].number}", hint="pick one with --to N (kfdeploy history lists them)")
    return earlier[-1]


def restored_spec(revision: Revision, current: KfDef) -> KfDef:
    """The revision's spec, ready to render: literal secrets taken from the current spec file
    (never stored), relative paths resolved against the spec file's folder, and the recorded
    lock's pins given with it (in memory: nothing is written beside the spec file)."""
    data = yaml.safe_load(yaml.safe_dump(revision.spec))
    given = {s["name"]: s for s in current.canonical()["spec"]["secrets"]}
    for i, secret in enumerate(data.get("spec", {}).get("secrets", [])):
        literal = secret.get("secretSource", {}).get("literalSource") or {}
        if literal.get("value") == SECRET_NOT_RECORDED:
            if secret["name"] not in given:
                raise UsageError(f"revision {revision.number}: secret {secret['name']!r} was given as a literal,"
                                 f" which is not recorded, and {current.source} has no secret of that name",
                                 hint="add it to spec.secrets of the spec file, then run rollback again")
            data["spec"]["secrets"][i] = given[secret["name"]]
    source = f"revision {revision.number} of {current.source}"
    pins = lock_from_text(revision.lock, f"the lock of {source}") if revision.lock is not None else {}
    spec = parse_spec(data, source, current.base_dir).with_origin(source, current.base_dir, pins)
    kinds.extend(k.rule() for k in spec.spec.kinds)  # its own kinds, as the spec file's join
    return spec


def rollback(opts: Options, flags: RollbackFlags, confirm: Confirm) -> ApplyResult | PlanResult:
    """Apply a recorded revision's spec through ``deploy_verbs.apply``; say how to bring the
    spec file in step afterwards."""
    from kfdeploy.workflow import deploy_verbs
    current = load_spec(opts.file)
    revisions = _store(opts, current).all()
    target = rollback_target(revisions, flags.to, current)
    printer = Printer()
    warning = _migration_warning(revisions[-1] if revisions else None, target)
    if warning:  # first, so it is seen even when a check stops the rollback before the question
        printer.line(warning)

    def ask(question: str, details: str) -> bool:
        return confirm(question, details + ("\n" + warning if warning else ""))

    printer.line(f"rolling back to revision {target.number} (applied {target.time}, {target.shown_outcome})")
    spec = restored_spec(target, current)
    try:
        result = deploy_verbs.apply(opts, flags.apply_flags(), ask, rollback=RollbackTo(spec, target.number))
    except FetchError as e:  # raised by the render, before any change
        raise FetchError(e.message, hint=_bundle_hint(opts.file, target.number)) from e
    if not opts.dry_run:
        printer.line(f"the cluster runs revision {target.number}'s spec; {opts.file} is unchanged, and the next"
                     f" apply of it would upgrade again. To keep revision {target.number}:"
                     f" kfdeploy history -f {opts.file} --revision {target.number} > {opts.file}")
    return result


def _bundle_hint(spec_file: str, number: int) -> str:
    """How to carry a revision's sources to a machine without network: its spec, vendored."""
    copy = Path(spec_file).parent / f"revision-{number}.yaml"  # beside the spec: its relative paths hold
    bundle = f"revision-{number}.tar.gz"
    lock = copy.with_suffix(".lock")
    return (f"revision {number}'s sources travel in a vendor bundle: on a machine with network, write the revision"
            f" and its lock beside the spec (kfdeploy history -f {spec_file} --revision {number} > {copy};"
            f" kfdeploy history -f {spec_file} --revision {number} --lock > {lock}) and bundle it"
            f" (kfdeploy vendor -f {copy} -o {bundle}); here, import it (kfdeploy vendor -f {copy} --import"
            f" {bundle}) and run rollback again")


def _migration_warning(live_revision: Revision | None, target: Revision) -> str:
    crossed = migrations_crossed(live_revision.spec, target.spec) if live_revision else []
    if not crossed or live_revision is None:
        return ""
    return (f"WARNING: this rollback crosses a release of {', '.join(crossed)}, which migrate their databases"
            f" on upgrade. Rolling back does not undo a schema migration: the older version may not read"
            f" data written by the newer one. Go ahead only with a backup of those databases taken"
            f" before the upgrade, or if their data may be lost.")


