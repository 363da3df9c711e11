"""Verbs about the spec itself: init, validate, schema, version."""

from __future__ import annotations

from typing import Any

from kfdeploy.errors import NotImplementedYet
from kfdeploy.options import Options


def init(opts: Options, **kw: Any) -> Any:
    raise NotImplementedYet("init is not implemented yet")


def validate(opts: Options) -> Any:
    raise NotImplementedYet("validate is not implemented yet")


def schema(opts: Options, output_file: str | None = None) -> Any:
    raise NotImplementedYet("schema is not implemented yet")


def version(opts: Options) -> Any:
    from kfdeploy import __version__
    return {"kfdeploy": __version__}
