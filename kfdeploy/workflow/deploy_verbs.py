"""Verbs against the cluster: plan, apply, status, delete."""

from __future__ import annotations

from typing import Any

from kfdeploy.errors import NotImplementedYet
from kfdeploy.options import Options


def plan(opts: Options, applications: tuple[str, ...] = (), **kw: Any) -> Any:
    raise NotImplementedYet("plan is not implemented yet")


def apply(opts: Options, **kw: Any) -> Any:
    raise NotImplementedYet("apply is not implemented yet")


def status(opts: Options) -> Any:
    raise NotImplementedYet("status is not implemented yet")


def delete(opts: Options, **kw: Any) -> Any:
    raise NotImplementedYet("delete is not implemented yet")
