"""Verbs about the component library itself: ``library compare``."""

from __future__ import annotations

from kfdeploy import fidelity
from kfdeploy.options import Options
from kfdeploy.render import render
from kfdeploy.render.params import applied_refs


def compare(opts: Options, against: str) -> fidelity.Comparison:
    """The spec's library applications compared with an upstream build (see kfdeploy.fidelity)."""
    from kfdeploy.library import Library
    from kfdeploy.workflow.session import load_spec

    spec = load_spec(opts.file)
    library = Library.load()
    upstream = fidelity.load_upstream(against)
    names = [r.name for r in applied_refs(spec, library) if r.source_kind == "library"]
    rendered = render(spec, library, only=names)
    return fidelity.compare({a.name: a.objects for a in rendered.applications}, upstream, against)
