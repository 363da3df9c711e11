"""Shared by the tests of the platforms that drive a local CLI (kind, minikube): the stub CLI
first on PATH recording its calls, a fresh HOME, a user kubeconfig in $KUBECONFIG that must stay
untouched, a library root holding the platform's file, and a spec builder."""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from kfdeploy.spec import KfDef, parse_spec

FAKES = Path(__file__).resolve().parent
USER_KUBECONFIG = "apiVersion: v1\nkind: Config\ncurrent-context: prod\n"


@dataclass
class StubCli:
    """Where a stub writes: its call log (one JSON record a line) and its state file."""

    home: Path
    log: Path
    state: Path
    user_kubeconfig: Path

    def records(self) -> list[dict[str, Any]]:
        if not self.log.exists():
            return []
        return [json.loads(line) for line in self.log.read_text().splitlines()]

    def calls(self) -> list[list[str]]:
        return [r["argv"] for r in self.records()]


def install_stub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tool: str, platform_yaml: str,
                 unset: tuple[str, ...]) -> StubCli:
    """``tests/fakes/bin-<tool>`` first on PATH (its log and state in $FAKE_<TOOL>_LOG and
    $FAKE_<TOOL>_STATE), a fresh HOME, a user kubeconfig, ``platforms/<tool>.yaml`` in a
    library root; the ``unset`` variables removed."""
    home, pybin, lib = tmp_path / "home", tmp_path / "pybin", tmp_path / "lib" / "platforms"
    for d in (home, pybin, lib):
        d.mkdir(parents=True)
    (pybin / "python3").symlink_to(sys.executable)
    (lib / f"{tool}.yaml").write_text(platform_yaml)
    user = home / "user-config"
    user.write_text(USER_KUBECONFIG)
    stub = StubCli(home, tmp_path / f"{tool}.log", tmp_path / "state.json", user)
    env = {"PATH": os.pathsep.join([str(FAKES / f"bin-{tool}"), str(pybin), os.environ.get("PATH", "")]),
           "HOME": str(home), "KUBECONFIG": str(user), "KFDEPLOY_LIBRARY": str(tmp_path / "lib"),
           f"FAKE_{tool.upper()}_LOG": str(stub.log), f"FAKE_{tool.upper()}_STATE": str(stub.state)}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    for key in unset:
        monkeypatch.delenv(key, raising=False)
    return stub


def platform_spec(kind: str, field: str, block: dict[str, Any] | None, name: str) -> KfDef:
    """A spec of platform ``kind`` named ``name``, with ``block`` as its ``field`` when given."""
    platform: dict[str, Any] = {"kind": kind}
    if block is not None:
        platform[field] = block
    data = {"apiVersion": "kfdef.apps.kubeflow.org/v1", "kind": "KfDef",
            "metadata": {"name": name}, "spec": {"platform": platform}}
    return parse_spec(data, "kfdef.yaml", Path("."))
