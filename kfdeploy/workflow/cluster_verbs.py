"""Verbs about the cluster: create, delete, kubeconfig."""

from __future__ import annotations

from typing import Any

from kfdeploy.errors import NotImplementedYet
from kfdeploy.options import Options


def create(opts: Options) -> Any:
    raise NotImplementedYet("cluster create is not implemented yet")


def delete(opts: Options) -> Any:
    raise NotImplementedYet("cluster delete is not implemented yet")


def kubeconfig(opts: Options) -> Any:
    raise NotImplementedYet("cluster kubeconfig is not implemented yet")
