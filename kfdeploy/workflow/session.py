"""What one run of a verb shares: the component catalog, loaded once, and a render ``Session``
that renders each application once, from the render cache unless ``--no-cache``, saying on
stderr how each source was had (``(cached)``, or the seconds it took)."""

from __future__ import annotations

from collections.abc import Iterable

from kfdeploy.library import Library
from kfdeploy.options import Options
from kfdeploy.progress import Printer
from kfdeploy.render import Session
from kfdeploy.render.cache import RenderCache
from kfdeploy.spec import KfDef


def render_session(opts: Options, spec: KfDef, printer: Printer | None = None, *, only: Iterable[str] = (),
                   masked: bool = False, mirror: bool = True) -> Session:
    """The run's render session; without a ``printer``, progress is shown only with ``-v``."""
    printer = printer or Printer(live=False, quiet=not opts.verbose)
    return Session(spec, Library.load(), only=only, mirror=mirror, masked=masked,
                   cache=RenderCache.open(enabled=not opts.no_cache),
                   report=lambda name, how: printer.app(name, "rendered", how))
