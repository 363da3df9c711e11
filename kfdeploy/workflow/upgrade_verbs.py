"""``kfdeploy upgrade``: rewrite a manifests spec for a new release, keeping the user's work.

The new release is split as ``init --manifests`` splits it (same rules, same platform overlays,
the options the spec uses, the same check against its example). Then the spec's text is edited
in place (spec.textedit): the repo's uri and sha256, ``spec.version``, and per application of
that repo only ``kustomize`` and ``dependsOn`` — every other field and comment stays as written.
Applications the old release's example installed follow the new split: kept by name with the
new folders, added when new, removed when the new example no longer has them. Applications the
user added are kept while their folders exist. Each customization (patch, image, replica count)
is tried on the new release's objects; what no longer applies is named with its fix and left
out, before anything is written.
"""

from __future__ import annotations

import difflib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kfdeploy.errors import KfdeployError, UsageError
from kfdeploy.options import Options
from kfdeploy.render.customize import patch_body, with_images, with_replicas
from kfdeploy.render.fetch import stderr_report
from kfdeploy.render.kustomize_pin import choose, release_tag
from kfdeploy.render.patches import patch_objects
from kfdeploy.render.release import Split, release_has, split_release
from kfdeploy.render.repos import RepoResolver
from kfdeploy.spec import Application, KfDef, Repo, load_spec, parse_text
from kfdeploy.spec.textedit import SpecText
from kfdeploy.templates.manifests import (
    EXAMPLE,
    OPTIONS,
    PLATFORM_CHOICES,
    ManifestApp,
    annotate,
    app_text,
    kustomize_line,
    parse_example,
    patches_lines,
    version_line,
)

Confirm = Callable[[str, str], bool]
Obj = dict[str, Any]


@dataclass(frozen=True)
class UpgradeResult:
    file: str
    diff: str
    notices: list[str]
    written: bool
    data: dict[str, Any] = field(default_factory=dict)

    def text(self) -> str:
        lines = [f"note: {n}" for n in self.notices]
        lines += [self.diff.rstrip("\n")] if self.diff else [f"{self.file}: already at this release; nothing to change"]
        if self.diff:
            lines.append(f"wrote {self.file}; next: kfdeploy plan -f {self.file}" if self.written
                         else f"{self.file} not written")
        return "\n".join(lines)

    def to_data(self) -> dict[str, Any]:
        return {"file": self.file, "written": self.written, "notices": self.notices, "diff": self.diff, **self.data}


def upgrade(opts: Options, to: str, sha256: str | None = None, repo: str | None = None, verify: bool = True,
            confirm: Confirm | None = None) -> UpgradeResult:
    """Rewrite ``opts.file`` for the release at ``to``; write it when ``--yes`` or confirmed."""
    spec = load_spec(opts.file)
    index, old = _repo(spec, repo)
    new = Repo(name=old.name, uri=_spec_relative(to, spec.base_dir), sha256=sha256, kustomize=old.kustomize)
    old_root, new_root = (RepoResolver(spec.base_dir).root(r) for r in (old, new))  # one resolver per name
    ours = [(i, a) for i, a in enumerate(spec.spec.applications) if a.kustomize and a.kustomize.repo == old.name]
    options = _options_in_use([p for _, a in ours for p in (a.kustomize.paths if a.kustomize else [])])
    tool = choose(new, new_root)
    stderr_report(f"splitting {to} with {tool.describe()}")
    split = split_release(new_root, stderr_report, verify, tool.version, spec.spec.platform.kind, options)
    if split.check is not None and not split.check.ok:
        raise UsageError(f"the applications would not render what {to}'s example renders:\n  - "
                         + "\n  - ".join(split.check.problems()[:20]),
                         hint="nothing was written; pass --no-verify to upgrade anyway and fix the"
                              " applications by hand")
    plan = _Plan(spec, SpecText(Path(opts.file).read_text(encoding="utf-8")), old.name, split,
                 _example_folders(old_root), release_has(new_root))
    plan.repo(index, new, release_tag(new.uri, new_root))
    plan.applications(ours)
    text = plan.edit.text()
    parse_text(text, opts.file, spec.base_dir)  # the rewritten spec must load
    diff = "".join(difflib.unified_diff(plan.edit.source.splitlines(keepends=True), text.splitlines(keepends=True),
                                        f"{opts.file} (now)", f"{opts.file} ({to})"))
    written = bool(diff) and (opts.yes or (confirm is not None and confirm(
        f"Write the upgraded spec to {opts.file}?", "\n".join([*(f"note: {n}" for n in plan.notices), diff]))))
    if written:
        Path(opts.file).write_text(text, encoding="utf-8")
    return UpgradeResult(opts.file, diff, plan.notices, written,
                         {"to": to, "added": plan.added, "removed": plan.removed})


def _repo(spec: KfDef, name: str | None) -> tuple[int, Repo]:
    repos = spec.spec.repos
    named = [(i, r) for i, r in enumerate(repos) if name is None or r.name == name]
    if len(named) == 1:
        return named[0]
    names = ", ".join(r.name for r in repos) or "none"
    if name is not None:
        raise UsageError(f"{spec.source}: no spec.repos entry named {name!r}; repos: {names}")
    raise UsageError(f"{spec.source}: upgrade rewrites one repo; the spec has {len(repos)} ({names})",
                     hint="name it with --repo NAME" if repos else "upgrade works on specs written by "
                     "`kfdeploy init --manifests`")


def _spec_relative(uri: str, base: Path) -> str:
    """A local release path as the spec reads it (relative to the spec's folder)."""
    if uri.startswith("https://") or Path(uri).expanduser().is_absolute():
        return uri
    return os.path.relpath(Path(uri).expanduser().resolve(), base)


def _options_in_use(paths: list[str]) -> list[str]:
    """The ``--with`` options whose folders the spec uses."""
    return [o.name for o in OPTIONS if any(f in paths for f in [*(v.to for v in o.variants), *o.adds])]


def _example_folders(root: Path) -> set[str]:
    """Every folder ``init`` could have given an application of this release: the example's,
    its platform overlays' and its options'."""
    try:
        folders = set(parse_example((root / EXAMPLE / "kustomization.yaml").read_text(encoding="utf-8")).resources)
    except (OSError, ValueError):
        return set()
    for choice in [*PLATFORM_CHOICES.values(), *OPTIONS]:
        folders |= {v.to for v in choice.variants} | set(choice.adds)
    return folders


@dataclass
class _Plan:
    """The edits of one upgrade and what it says about them."""

    spec: KfDef
    edit: SpecText
    repo_name: str
    split: Split
    old_folders: set[str]
    exists: Callable[[str], bool]
    notices: list[str] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)

    def repo(self, index: int, new: Repo, tag: str | None) -> None:
        at = ("spec", "repos", index)
        self.edit.replace(at + ("uri",), [f"uri: {new.uri}"])
        if self.edit.has(at + ("sha256",)):
            self.edit.replace(at + ("sha256",), [f"sha256: {new.sha256}"] if new.sha256 else [])
        elif new.sha256:
            self.edit.insert_after(at + ("uri",), [f"sha256: {new.sha256}"])
        if self.edit.has(("spec", "version")):
            self.edit.replace(("spec", "version"), [version_line(tag).strip()] if tag else [])

    def applications(self, ours: list[tuple[int, Application]]) -> None:
        if not ours:
            raise UsageError(f"{self.spec.source}: no application uses repo '{self.repo_name}'",
                             hint="upgrade works on specs written by `kfdeploy init --manifests`")
        new_apps = {a.name: a for a in self.split.applications}
        drops = {a.name: why for _, a in ours if (why := self._drop_reason(a, new_apps))}
        final = ({a.name for a in self.spec.spec.applications} - drops.keys()) | set(new_apps)
        last: tuple[Any, ...] | None = None
        for i, app in ours:
            at = ("spec", "applications", i)
            if app.name in drops:
                self._drop(at, app, drops[app.name])
            elif app.name in new_apps:
                self._update(at, app, new_apps[app.name], final)
                last = at
        for app in self.spec.spec.applications:
            needs = [d for d in app.depends_on or [] if d in drops]
            if needs and app.name not in new_apps:
                self.notices.append(f"application '{app.name}' depends on {', '.join(needs)}, which the upgrade"
                                    " removes. Fix: edit its dependsOn")
        old_names = {a.name for a in self.spec.spec.applications}
        fresh = [a for a in self.split.applications if a.name not in old_names]
        self._add(fresh, last or ("spec", "applications", ours[-1][0]))

    def _drop_reason(self, app: Application, new_apps: dict[str, ManifestApp]) -> str:
        """Why an application of the repo leaves the spec ('' when it stays)."""
        paths = app.kustomize.paths if app.kustomize else []
        if app.name in new_apps:
            return ""
        if self._from_release(app):
            return "the new release's example no longer installs it"
        gone = [p for p in paths if not self.exists(p)]
        return f"its folders vanished from the new release ({', '.join(gone)})" if gone else ""

    def _add(self, fresh: list[ManifestApp], anchor: tuple[Any, ...]) -> None:
        """New applications of the release, after the last one updated (at that list's indentation)."""
        if not fresh:
            return
        annotate(fresh, self.split.chosen, getattr(self.spec.spec.platform.settings, "region", None))
        lines = [line for a in fresh for line in app_text(a, self.repo_name).splitlines()]
        self.edit.insert_after(anchor, lines, self.edit.column(anchor) - 4)  # app_text indents "  - name"
        self.added += [a.name for a in fresh]
        self.notices.append(f"new in this release: {', '.join(self.added)} (added)")

    def _from_release(self, app: Application) -> bool:
        """Whether ``init`` wrote this application: its folders are the old release's."""
        paths = set(app.kustomize.paths if app.kustomize else [])
        return bool(self.old_folders) and paths <= self.old_folders

    def _drop(self, at: tuple[Any, ...], app: Application, why: str) -> None:
        self.edit.delete(at)
        self.removed.append(app.name)
        self.notices.append(f"application '{app.name}' is removed: {why}; apply prunes its objects (PVCs and CRDs"
                            " with data are kept). Fix, to keep it: add it back with the folders it has in the new"
                            " release (kustomize.path), or keep the old release as a second spec.repos entry")

    def _update(self, at: tuple[Any, ...], app: Application, new: ManifestApp, final: set[str]) -> None:
        source = app.kustomize
        assert source is not None
        if source.paths != new.paths or source.components != new.components:
            self.edit.replace(at + ("kustomize",), [kustomize_line(new, self.repo_name)])
        self._depends_on(at, app, new, final)
        objects = self._patches(at, app, new)
        where = f"spec.applications[{at[-1]}]"
        images = self._tried(app, f"{where}.images", app.images, "the new release's image names",
                             lambda item: with_images(objects, app.model_copy(update={"images": [item]}), where))
        replicas = self._tried(app, f"{where}.replicas", app.replicas, "the new release's workload names",
                               lambda item: with_replicas(objects, [item], app.name, where))
        for name, good, items in (("images", images, app.images), ("replicas", replicas, app.replicas)):
            if len(good) != len(items):
                body = json.dumps([o.model_dump(mode="json", by_alias=True, exclude_none=True) for o in good])
                self.edit.replace(at + (name,), [f"{name}: {body}"] if good else [])

    def _depends_on(self, at: tuple[Any, ...], app: Application, new: ManifestApp, final: set[str]) -> None:
        """The new split's dependencies, plus the ones the user added that are still applied."""
        old = app.depends_on or []
        extra = [d for d in old if d not in new.depends_on and d in final]
        dropped = [d for d in old if d not in new.depends_on and d not in final]
        wanted = [*new.depends_on, *extra]
        if dropped:
            self.notices.append(f"application '{app.name}': dependsOn {', '.join(dropped)} dropped (not in the"
                                " upgraded spec)")
        if wanted == old:
            return
        line = [f"dependsOn: [{', '.join(wanted)}]"] if wanted else []
        if self.edit.has(at + ("dependsOn",)):
            self.edit.replace(at + ("dependsOn",), line)
        else:
            self.edit.insert_after(at + ("kustomize",), line)

    def _patches(self, at: tuple[Any, ...], app: Application, new: ManifestApp) -> list[Obj]:
        """The new split's patches (where the example sets values across folders; they replace
        the old ones of the same target), then each of the user's that still applies. Returns
        the objects patched, for the image and replica checks."""
        where = f"spec.applications[{at[-1]}].patches"
        objects = self.split.built.get(new.name, [])
        user = [p.model_dump(mode="json", by_alias=True, exclude_none=True) for p in app.patches]
        drop = []
        for i, (patch, raw) in enumerate(zip(app.patches, user, strict=True)):
            if raw in new.patches:
                continue  # the new split needs this very patch
            if any(raw.get("target") == n["target"] for n in new.patches):
                drop.append(i)  # init's patch for the old release: the new split's replaces it
                continue
            try:
                objects = patch_objects(objects, patch_body(patch, self.spec, f"{where}[{i}]"), patch.target,
                                        self.spec.metadata.namespace, f"its target {json.dumps(raw.get('target'))}")
            except KfdeployError as e:
                drop.append(i)
                self._cannot(app, f"{where}[{i}]", e, f"rewrite it against the new release's objects (`kfdeploy"
                             f" show -a {app.name}` after the upgrade), or drop it")
        self._edit_patches(at, [n for n in new.patches if n not in user], drop, len(user))
        return objects

    def _edit_patches(self, at: tuple[Any, ...], new: list[dict[str, Any]], drop: list[int], count: int) -> None:
        """Delete the ``drop`` items of ``patches`` (``count`` long) and put ``new`` first."""
        key = at + ("patches",)
        if count and len(drop) == count and not new:
            self.edit.delete(key)
            return
        for i in drop:
            self.edit.delete(key + (i,))
        if new and count:
            self.edit.insert_before(key + (0,), patches_lines(new)[1:], self.edit.column(key + (0,)) - 2)
        elif new:
            self.edit.insert_after(at + ("kustomize",), patches_lines(new))

    def _tried(self, app: Application, where: str, items: list[Any], names: str,
               check: Callable[[Any], object]) -> list[Any]:
        """The items that ``check`` accepts; the others are named with the fix."""
        good = []
        for i, item in enumerate(items):
            try:
                check(item)
                good.append(item)
            except KfdeployError as e:
                self._cannot(app, f"{where}[{i}]", e, f"update it to {names}, or drop it")
        return good

    def _cannot(self, app: Application, where: str, error: KfdeployError, fix: str) -> None:
        self.notices.append(f"cannot carry over {where} of '{app.name}': {error.message}; left out of the"
                            f" upgraded spec. Fix: {fix}")
