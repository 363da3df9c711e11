"""Verbs that render without touching a cluster: build, show, components."""

from __future__ import annotations

from typing import Any

from kfdeploy.errors import NotImplementedYet
from kfdeploy.options import Options


def build(opts: Options, out_dir: str = "build", **kw: Any) -> Any:
    raise NotImplementedYet("build is not implemented yet")


def show(opts: Options, applications: tuple[str, ...] = (), **kw: Any) -> Any:
    raise NotImplementedYet("show is not implemented yet")


def components(opts: Options) -> Any:
    raise NotImplementedYet("components is not implemented yet")
