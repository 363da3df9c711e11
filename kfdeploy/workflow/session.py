"""What every verb does first: read the spec (and make its own kinds part of the kind table),
choose how progress is printed, open the run's render session (the component catalog loaded
once, each application rendered once, from the render cache unless ``--no-cache``) and connect
to the cluster. One place, so that no verb module reaches into another for these steps."""

from __future__ import annotations

from collections.abc import Iterable
from contextvars import ContextVar
from pathlib import Path

from kfdeploy import kinds
from kfdeploy.credentials import Credentials
from kfdeploy.kube import credential_store
from kfdeploy.kube.client import Cluster
from kfdeploy.library import Library
from kfdeploy.options import Options
from kfdeploy.progress import Observer, Printer
from kfdeploy.render import Session
from kfdeploy.render.cache import RenderCache
from kfdeploy.spec import KfDef
from kfdeploy.spec import load_spec as read_spec


def load_spec(path: str | Path) -> KfDef:
    """The spec at ``path``; its ``spec.kinds`` rows join the kind table for this run."""
    spec = read_spec(path)
    kinds.extend(k.rule() for k in spec.spec.kinds)
    return spec


OBSERVER: ContextVar[Observer | None] = ContextVar("progress_observer", default=None)
"""Who else reads the progress lines in this context (``kfdeploy ui`` sets it for its runs)."""


def printer(opts: Options) -> Printer:
    """Progress on stderr: live lines for text output, plain lines when the result is data
    or when an observer reads them too."""
    observer = OBSERVER.get()
    return Printer(live=None if opts.output == "text" and observer is None else False, observer=observer)


def connect(opts: Options, spec: KfDef, progress: Printer, create: bool) -> Cluster:
    """The cluster: flags win; else the platform's (created first when ``create``)."""
    if opts.kubeconfig or opts.context:
        cluster = Cluster.connect(opts.kubeconfig, opts.context)
    else:
        from kfdeploy.platforms import get_platform
        platform = get_platform(spec.spec.platform.kind)
        context = getattr(spec.spec.platform.settings, "context", None)
        if create:
            info = platform.ensure_cluster(spec, progress.line)
            cluster = Cluster.connect(info.kubeconfig, info.context or context)
        else:
            cluster = Cluster.connect(platform.kubeconfig(spec), context)
    cluster.version()
    return cluster


def cluster_credentials(cluster: Cluster, spec: KfDef) -> Credentials:
    """Generated credentials as the cluster holds them (new ones are chosen, not yet stored)."""
    return Credentials(credential_store.read(cluster, spec.metadata.name),
                       live=credential_store.secret_reader(cluster))


def render_session(opts: Options, spec: KfDef, progress: Printer | None = None, *, only: Iterable[str] = (),
                   masked: bool = False, mirror: bool = True) -> Session:
    """The run's render session, saying on stderr how each source was had (``(cached)`` or the
    seconds it took); without ``progress``, only with ``-v``."""
    shown = progress or Printer(live=False, quiet=not opts.verbose)
    return Session(spec, Library.load(), only=only, mirror=mirror, masked=masked,
                   cache=RenderCache.open(enabled=not opts.no_cache),
                   report=lambda name, how: shown.app(name, "rendered", how))
