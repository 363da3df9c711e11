"""The apply engine: plan against the live cluster, then apply applications along their
dependency DAG (independent ones in parallel), each in waves with server-side apply, gated on
CRDs and webhook backends, waited until healthy, recorded in the inventory; prune what the spec
no longer renders. A failed application stops its dependents; independent ones carry on."""

from __future__ import annotations

import contextvars
import hashlib
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any, Literal

from kfdeploy.errors import ApplyError, KfdeployError
from kfdeploy.kinds import CRD, NAMESPACE, group_kind
from kfdeploy.kube import recreate
from kfdeploy.kube.client import FIELD_MANAGER, Cluster, KubeApiError
from kfdeploy.kube.immutable import describe as describe_immutable
from kfdeploy.kube.immutable import server_causes
from kfdeploy.kube.inventory import Inventory, Record, kep_group_kind, stamp
from kfdeploy.kube.live import LiveIndex, kinds_to_list
from kfdeploy.kube.migrate import needs_upgrade, upgraded_managed_fields
from kfdeploy.kube.order import WEBHOOK_KINDS, Wave, apply_waves, delete_order, webhook_gates, webhook_services
from kfdeploy.kube.phases import apply_phases
from kfdeploy.kube.plan import AppPlan, Change, desired_changes, prune_candidates
from kfdeploy.kube.prune import PruneRules, protection
from kfdeploy.kube.retry import deadline as retry_deadline
from kfdeploy.kube.wait import WaitOutcome, assess_all, recent_events, wait_endpoints, wait_established, wait_healthy
from kfdeploy.objects import ObjectKey, describe_key, object_key

Outcome = Literal["applied", "unchanged", "failed", "skipped", "pruned"]
Progress = Callable[[str, str, str], None]  # (application, state, detail)


@dataclass(frozen=True)
class ApplyOptions:
    force_conflicts: bool = False
    recreate: bool = False
    prune: bool = True
    rules: PruneRules = PruneRules()
    timeout: float = 600.0
    parallel: int = 4


@dataclass
class DesiredApp:
    """One application to converge: its stamped objects and the dependencies it waits for."""

    name: str
    objects: list[dict[str, Any]]
    depends_on: list[str]

    @property
    def hash(self) -> str:
        from kfdeploy.labels import HASH
        digest = hashlib.sha256()
        for o in self.objects:
            digest.update(describe_key(object_key(o)).encode())
            digest.update(o["metadata"]["annotations"][HASH].encode())
        return digest.hexdigest()[:20]


@dataclass
class SpecPlan:
    """The plan for a whole spec: per application, plus applications removed from the spec."""

    apps: list[AppPlan]
    removed: list[AppPlan]
    desired: dict[str, DesiredApp]
    index: LiveIndex
    records: dict[str, Record]

    @property
    def has_changes(self) -> bool:
        return any(p.has_changes for p in self.apps + self.removed)

    def all(self) -> list[AppPlan]:
        return self.apps + self.removed


@dataclass(frozen=True)
class Unhealthy:
    """An object that was not healthy when the wait ended: why, and its last events."""

    key: ObjectKey
    reason: str
    events: tuple[str, ...] = ()

    @property
    def object(self) -> str:
        return describe_key(self.key)

    def to_data(self) -> dict[str, Any]:
        return {"object": self.object, "reason": self.reason, "events": list(self.events)}


@dataclass
class AppResult:
    name: str
    outcome: Outcome
    created: int = 0
    updated: int = 0
    recreated: int = 0
    deleted: int = 0
    kept: list[tuple[str, str]] = field(default_factory=list)
    unhealthy: list[Unhealthy] = field(default_factory=list)
    error: str = ""
    seconds: float = 0.0

    def to_data(self) -> dict[str, Any]:
        data: dict[str, Any] = {"name": self.name, "outcome": self.outcome, "created": self.created,
                                "updated": self.updated, "recreated": self.recreated, "deleted": self.deleted,
                                "seconds": round(self.seconds, 2)}
        if self.kept:
            data["kept"] = [{"object": o, "reason": r} for o, r in self.kept]
        if self.unhealthy:
            data["unhealthy"] = [u.to_data() for u in self.unhealthy]
        if self.error:
            data["error"] = self.error
        return data


class Engine:
    def __init__(self, cluster: Cluster, kfdef: str, spec_hash: str,
                 options: ApplyOptions = ApplyOptions(), progress: Progress | None = None) -> None:
        self.cluster = cluster
        self.inventory = Inventory(cluster, kfdef)
        self.spec_hash = spec_hash
        self.options = options
        self.progress: Progress = progress or (lambda app, state, detail: None)
        self._pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="kfdeploy-apply")
        self._cluster_hooks: dict[ObjectKey, dict[str, Any]] | None = None
        self._hooks_lock = threading.Lock()

    # -- plan ---------------------------------------------------------------------------------

    def plan(self, apps: Iterable[tuple[str, list[dict[str, Any]], list[str]]]) -> SpecPlan:
        """Compare desired applications (name, objects, depends_on) with the cluster."""
        desired = {name: DesiredApp(name, [stamp(o, self.inventory.id) for o in objs], deps)
                   for name, objs, deps in apps}
        records = self.inventory.records()
        all_objs = [o for d in desired.values() for o in d.objects]
        index = LiveIndex.fetch(self.cluster, self.inventory.id, kinds_to_list(all_objs, records.values()))
        plans = [AppPlan(d.name, desired_changes(d.objects, index)) for d in desired.values()]
        gone = (set(records) | set(index.applications())) - set(desired) - {""}
        removed = [AppPlan(name) for name in sorted(gone)]
        if self.options.prune:
            self._plan_prune(plans + removed, desired, index, records)
        # A removed application whose objects all moved elsewhere still has its record to drop.
        return SpecPlan(plans, [p for p in removed if p.changes or p.name in records], desired, index, records)

    def _plan_prune(self, plans: list[AppPlan], desired: dict[str, DesiredApp], index: LiveIndex,
                    records: dict[str, Record]) -> None:
        """Delete or keep each prune candidate. Namespaces are decided last: one that still
        holds anything staying (ours or not) is kept, so pruning never cascades into it. An
        object another application now renders has moved there: it is never a candidate."""
        rendered = {object_key(o) for d in desired.values() for o in d.objects}
        candidates = {p.name: [o for o in prune_candidates(p.name, desired[p.name].objects if p.name in desired
                                                           else [], index, records.get(p.name))
                               if object_key(o) not in rendered] for p in plans}
        for p in plans:
            for live in candidates[p.name]:
                if group_kind(live) != NAMESPACE:
                    reason = protection(self.cluster, live, self.inventory.id, self.options.rules)
                    p.changes.append(Change("keep" if reason else "delete", object_key(live), None,
                                            live, reason or ""))
        leaving = {c.key for p in plans for c in p.changes if c.action == "delete"}
        for p in plans:
            for live in candidates[p.name]:
                if group_kind(live) == NAMESPACE:
                    reason = self._namespace_protection(live, index, leaving)
                    p.changes.append(Change("keep" if reason else "delete", object_key(live), None,
                                            live, reason or ""))

    def _namespace_protection(self, ns: dict[str, Any], index: LiveIndex, leaving: set[ObjectKey]) -> str | None:
        name = ns["metadata"]["name"]
        staying = sorted(describe_key(k) for k in index.by_key
                         if k[2] == name and k not in leaving)
        if staying and not self.options.rules.prune_namespaces:
            shown = ", ".join(staying[:3]) + (f" and {len(staying) - 3} more" if len(staying) > 3 else "")
            return f"still holds objects that stay ({shown})"
        return protection(self.cluster, ns, self.inventory.id, self.options.rules)

    def dry_run_diffs(self, plan: SpecPlan, render_diff: Callable[..., str]) -> None:
        """Fill each update's field-level diff from a server-side dry-run apply; an update the
        server refuses for an immutable field becomes a recreate naming the fields."""
        updates = [c for app in plan.apps for c in app.changes if c.action == "update" and c.desired]
        list(self._pool.map(lambda c: self._dry_run(c, render_diff), updates))

    def _dry_run(self, change: Change, render_diff: Callable[..., str]) -> None:
        assert change.desired is not None
        try:
            after = self.cluster.apply(change.desired, dry_run=True, force=self.options.force_conflicts)
        except KubeApiError as e:
            immutable = server_causes(e.status, e.details)
            if immutable:
                change.action, change.reason = "recreate", describe_immutable(immutable)
            else:
                change.diff = f"(server-side dry-run failed: {e.message})"
            return
        change.diff = render_diff(change.key, change.live, after)

    # -- apply --------------------------------------------------------------------------------

    def apply(self, plan: SpecPlan) -> list[AppResult]:
        """Converge every application along the DAG; then prune removed applications."""
        results: dict[str, AppResult] = {}
        by_name = {p.name: p for p in plan.apps}
        deps = {n: [d for d in plan.desired[n].depends_on if d in by_name] for n in by_name}
        self.inventory.ensure_parent(sorted({kep_group_kind(o) for d in plan.desired.values()
                                             for o in d.objects}))
        running: dict[Future[AppResult], str] = {}
        with ThreadPoolExecutor(max_workers=max(1, self.options.parallel)) as pool:
            while len(results) < len(by_name):
                for name in by_name:
                    if name in results or name in running.values():
                        continue
                    failed = [d for d in deps[name] if d in results and results[d].outcome in ("failed", "skipped")]
                    if failed:
                        why = f"depends on {', '.join(failed)}, which did not become healthy"
                        results[name] = AppResult(name, "skipped", error=why)
                        self.progress(name, "skipped", results[name].error)
                    elif all(d in results for d in deps[name]):
                        running[pool.submit(self._guarded, by_name[name], plan)] = name
                if not running:
                    continue
                done, _ = wait(list(running), return_when=FIRST_COMPLETED)
                for fut in done:
                    results[running.pop(fut)] = fut.result()
        ordered = [results[p.name] for p in plan.apps]
        for removed in reversed(plan.removed):
            ordered.append(self._prune_removed(removed, plan))
        return ordered

    def _guarded(self, app: AppPlan, plan: SpecPlan) -> AppResult:
        start = time.monotonic()
        what = f"application {app.name} (--timeout {self.options.timeout:.0f}s)"
        try:
            with retry_deadline(start + self.options.timeout, what):
                result = self._apply_app(app, plan)
        except KfdeployError as e:
            result = AppResult(app.name, "failed", error=str(e))
        result.seconds = time.monotonic() - start
        self.progress(app.name, result.outcome, _result_detail(result))
        return result

    def _apply_app(self, app: AppPlan, plan: SpecPlan) -> AppResult:
        desired = plan.desired[app.name]
        deadline = time.monotonic() + self.options.timeout
        result = AppResult(app.name, "applied")
        todo = {c.key: c for c in app.changes if c.action in ("create", "update", "recreate")}
        replaced: list[recreate.Replacement] = []
        if not todo and not app.count("delete"):
            health = assess_all(desired.objects, plan.index.by_key)
            if all(h.status == "Current" for h in health.values()):
                self._record(desired, plan, kept=[])
                result.outcome = "unchanged"
                return result
        self.progress(app.name, "applying", f"{len(todo)} object(s) to apply")
        in_cluster = {(g, k) for (g, k, _, _) in plan.index.by_key}
        for phase in apply_phases(desired.objects):
            for wave in apply_waves(phase.objects, in_cluster):
                replaced += self._apply_wave(app.name, wave, todo, plan, deadline, result)
            if phase.wait:  # a hook phase: done before the next one starts
                outcome = wait_healthy(self.cluster, app.name, self.inventory.id, phase.objects, deadline,
                                       on_round=lambda o: self.progress(app.name, "waiting", _round_detail(o)))
                if not outcome.ok:
                    self._record(desired, plan, kept=[c.key for c in app.changes if c.action == "keep"])
                    self._fail(result, outcome)
                    result.error += f" in {phase.name}; later phases were not applied"
                    return result
        result.deleted, result.kept = self._prune(app.changes)
        outcome = wait_healthy(self.cluster, app.name, self.inventory.id, desired.objects, deadline,
                               on_round=lambda o: self.progress(app.name, "waiting", _round_detail(o)))
        self._record(desired, plan, kept=[c.key for c in app.changes if c.action == "keep"])
        if not outcome.ok:
            self._fail(result, outcome)
        else:
            recreate.release(self.cluster, replaced)
        return result

    def _apply_wave(self, app: str, wave: Wave, todo: dict[ObjectKey, Change], plan: SpecPlan, deadline: float,
                    result: AppResult) -> list[recreate.Replacement]:
        """Apply one wave's changed objects (recreating those that must be), then wait for what
        the wave asks; returns the replacements whose orphans are released once healthy."""
        objs = [todo[k].desired or o for o in wave.objects if (k := object_key(o)) in todo]
        self._gate(objs, plan, deadline)
        replacing = [recreate.remove(self.cluster, c.live, deadline) for o in objs
                     if (c := todo[object_key(o)]).action == "recreate" and c.live]
        applied = self._apply_batch(objs)
        plan.index.update(applied)
        new = {object_key(a): a for a in applied}
        for replacement in replacing:
            recreate.release_blocking(self.cluster, replacement, new[object_key(replacement.live)])
        result.created += sum(todo[object_key(o)].action == "create" for o in objs)
        result.updated += sum(todo[object_key(o)].action == "update" for o in objs)
        result.recreated += len(replacing)
        done = result.created + result.updated + result.recreated
        self.progress(app, "applying", f"{done}/{len(todo)} applied")
        if wave.wait_for == "established":
            crds = [o for o in wave.objects if group_kind(o) == CRD]
            pending = wait_established(self.cluster, crds, deadline)
            if pending:
                raise ApplyError(f"application {app}: CRDs not Established: " + "; ".join(pending))
        elif wave.wait_for == "ready_endpoints":
            self._wait_services(app, webhook_services(plan.desired[app].objects), deadline)
        return replacing

    def _apply_batch(self, objs: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Apply one wave's objects concurrently (they do not depend on each other)."""
        if len(objs) <= 2:
            return [self._apply_one(o) for o in objs]
        contexts = [contextvars.copy_context() for _ in objs]  # the application's retry deadline
        return list(self._pool.map(lambda c, o: c.run(self._apply_one, o), contexts, objs))

    def _apply_one(self, obj: dict[str, Any]) -> dict[str, Any]:
        try:
            live = self.cluster.apply(obj, force=self.options.force_conflicts)
            if needs_upgrade(live) and self._take_over(live):
                live = self.cluster.apply(obj, force=self.options.force_conflicts)
            return live
        except KubeApiError as e:
            what = describe_key(object_key(obj))
            if e.status == 409 and self._take_over(self.cluster.get(obj)):
                return self._apply_one(obj)
            if e.status == 409:
                raise ApplyError(f"{what}: {e.message.split(': ', 1)[-1]}",
                                 hint="another field manager owns these fields; re-run with "
                                      "--force-conflicts to take them over") from e
            raise ApplyError(f"{what} was rejected by the API server: {e.message.split(': ', 1)[-1]}") from e

    def _take_over(self, live: dict[str, Any] | None) -> bool:
        """Hand fields last written by ``kubectl apply`` to kfdeploy (see kube.migrate)."""
        if live is None:
            return False
        fields = upgraded_managed_fields(live["metadata"].get("managedFields") or [], FIELD_MANAGER)
        if fields is None:
            return False
        res = self.cluster.resource_for(live)
        meta = live["metadata"]
        self.cluster.call("PATCH", res.path(meta.get("namespace") if res.namespaced else None, meta["name"]),
                          body={"metadata": {"managedFields": fields, "resourceVersion": meta["resourceVersion"]}},
                          content_type="application/merge-patch+json")
        return True

    def _gate(self, objs: list[dict[str, Any]], plan: SpecPlan, deadline: float) -> None:
        """Wait for the backends of webhooks in the cluster (anyone's) that intercept these objects."""
        if not objs:
            return
        hooks = self._webhooks(plan)
        if not hooks:
            return
        ns_labels = {o["metadata"]["name"]: o["metadata"].get("labels") or {}
                     for o in plan.index.by_key.values() if group_kind(o) == NAMESPACE}
        plurals = {(r.group, r.kind): r.plural for r in self.cluster.resources().values()}
        services = sorted({s for ss in webhook_gates(objs, hooks, plurals=plurals, namespace_labels=ns_labels)
                           .values() for s in ss})
        self._wait_services("", services, deadline)

    def _webhooks(self, plan: SpecPlan) -> list[dict[str, Any]]:
        """Webhook configurations in the cluster: listed once, then ours as we apply them."""
        with self._hooks_lock:
            if self._cluster_hooks is None:
                self._cluster_hooks = {
                    object_key(h): h for group, kind in sorted(WEBHOOK_KINDS)
                    for h in self.cluster.list(f"{group}/v1", kind)}
            ours = {k: o for k, o in plan.index.by_key.items() if k[:2] in WEBHOOK_KINDS}
            return list({**self._cluster_hooks, **ours}.values())

    def _wait_services(self, app: str, services: list[ObjectKey], deadline: float) -> None:
        if not services:
            return
        missing = wait_endpoints(self.cluster, services, deadline)
        if missing:
            raise ApplyError(f"{'application ' + app + ': ' if app else ''}webhook backend(s) without "
                             f"ready endpoints before the timeout: {', '.join(missing)}",
                             hint="check the webhook's Deployment and its pods "
                                  "(kubectl describe / logs)")

    def _prune(self, changes: list[Change]) -> tuple[int, list[tuple[str, str]]]:
        deleted = 0
        for live in delete_order([c.live for c in changes if c.action == "delete" and c.live]):
            if self.cluster.delete(live):
                deleted += 1
        kept = [(describe_key(c.key), c.reason) for c in changes if c.action == "keep"]
        return deleted, kept

    def _prune_removed(self, app: AppPlan, plan: SpecPlan) -> AppResult:
        start = time.monotonic()
        self.progress(app.name, "pruning", f"{app.count('delete')} object(s)")
        deleted, kept = self._prune(app.changes)
        if kept:
            self.inventory.write(Record(app.name, [c.key for c in app.changes if c.action == "keep"],
                                        spec_hash=self.spec_hash, state="removed",
                                        api_versions=_api_versions(c.live for c in app.changes if c.live)))
        elif app.name in plan.records:
            self.inventory.forget(app.name)
        result = AppResult(app.name, "pruned", deleted=deleted, kept=kept,
                           seconds=time.monotonic() - start)
        self.progress(app.name, "pruned", _result_detail(result))
        return result

    def _record(self, desired: DesiredApp, plan: SpecPlan, kept: list[ObjectKey]) -> None:
        old = plan.records.get(desired.name)
        # Kept objects keep their kinds' versions, so the next apply still lists them to prune.
        versions = {f"{g}|{k}": old.api_versions[f"{g}|{k}"] for g, k, _, _ in kept
                    if old is not None and f"{g}|{k}" in old.api_versions}
        record = Record(desired.name, [object_key(o) for o in desired.objects] + kept,
                        hash=desired.hash, spec_hash=self.spec_hash,
                        api_versions={**versions, **_api_versions(desired.objects)})
        if old is None or (old.hash, old.spec_hash, sorted(old.objects)) != (
                record.hash, record.spec_hash, sorted(record.objects)):
            self.inventory.write(record)

    def _fail(self, result: AppResult, outcome: WaitOutcome) -> None:
        result.outcome = "failed"
        bad = outcome.failed or outcome.pending
        result.unhealthy = [Unhealthy(key, reason, tuple(recent_events(self.cluster, key))) for key, reason in bad]
        why = "failed" if outcome.failed else "not healthy before the timeout"
        result.error = f"{len(bad)} object(s) {why}"


def _api_versions(objs: Iterable[dict[str, Any]]) -> dict[str, str]:
    return {f"{g}|{k}": o["apiVersion"] for o in objs for g, k, _, _ in [object_key(o)]}


def _round_detail(outcome: WaitOutcome) -> str:
    total = len(outcome.health)
    ready = sum(h.status == "Current" for h in outcome.health.values())
    first = outcome.pending[:1]
    return f"{ready}/{total} ready" + (f"; {describe_key(first[0][0])}: {first[0][1]}" if first else "")


def _result_detail(r: AppResult) -> str:
    if r.outcome == "failed":
        return r.error
    parts = [f"{n} {w}" for n, w in ((r.created, "created"), (r.updated, "updated"),
                                     (r.recreated, "recreated"), (r.deleted, "deleted"), (len(r.kept), "kept")) if n]
    return (", ".join(parts) or "no changes") + f" in {r.seconds:.1f}s"

