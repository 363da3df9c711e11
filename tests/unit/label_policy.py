"""The label policy (kfdeploy.labels) as one reusable check, for every kind of source.

``source_and_rendered`` gives an application's objects as its source produced them (jsonnet
value, helm or kustomize output with the user's customizations, before ``process``) and as kfdeploy renders them;
``assert_source_labels_kept`` checks that nothing the source set was changed: labels,
annotations, selectors and pod templates are the source's, and kfdeploy only added its own
application label and the recommended labels the source left out.
"""

from __future__ import annotations

from typing import Any

from kfdeploy import render as render_pkg
from kfdeploy.labels import APPLICATION, RECOMMENDED
from kfdeploy.library import Library
from kfdeploy.render.params import plan_applications
from kfdeploy.render.repos import RepoResolver
from kfdeploy.spec import KfDef

Obj = dict[str, Any]
# Parts of an object that a source owns outright: kfdeploy must hand them over unchanged.
SOURCE_OWNED = (("spec", "selector"), ("spec", "template"), ("spec", "jobTemplate"))


def source_and_rendered(spec: KfDef, library: Library, application: str) -> tuple[list[Obj], list[Obj]]:
    plans, problems = plan_applications(spec, library)
    assert not problems, problems
    plan = next(p for p in plans if p.name == application)
    raw = render_pkg.source_objects(plan, spec, library, None, RepoResolver(spec.base_dir))
    rendered = render_pkg.render(spec, library, only=[application]).applications[0].objects
    made = {("Namespace", o["metadata"]["name"]) for o in raw if o.get("kind") == "Namespace"}
    release_ns = ("Namespace", plan.namespace)  # made by kfdeploy for a chart, not by the source
    return raw, [o for o in rendered if (o["kind"], o["metadata"]["name"]) != release_ns or release_ns in made]


def _get(obj: Obj, path: tuple[str, ...]) -> Any:
    for part in path:
        obj = obj.get(part) if isinstance(obj, dict) else None
    return obj


def assert_source_labels_kept(raw: list[Obj], rendered: list[Obj], application: str) -> None:
    source = {(o["kind"], o["metadata"]["name"]): o for o in raw}
    assert sorted(source) == sorted((o["kind"], o["metadata"]["name"]) for o in rendered)
    for out in rendered:
        src = source[(out["kind"], out["metadata"]["name"])]
        what = f"{out['kind']} {out['metadata']['name']}"
        src_labels = src["metadata"].get("labels") or {}
        out_labels = out["metadata"].get("labels") or {}
        assert {k: out_labels.get(k) for k in src_labels} == src_labels, f"{what}: a source label changed"
        assert set(out_labels) - set(src_labels) <= {APPLICATION, *RECOMMENDED}, what
        assert out_labels[APPLICATION] == application, what
        src_notes = src["metadata"].get("annotations") or {}
        out_notes = out["metadata"].get("annotations") or {}
        assert {k: out_notes.get(k) for k in src_notes} == src_notes, f"{what}: a source annotation changed"
        for path in SOURCE_OWNED:
            assert _get(out, path) == _get(src, path), f"{what}: {'.'.join(path)} changed"
        if out["kind"] == "Service":
            assert _get(out, ("spec", "selector")) == _get(src, ("spec", "selector")), what
