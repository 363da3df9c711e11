"""kfdeploy init --manifests end to end: the spec it writes for the fixture release applies
healthy on kwok, re-applies as a no-op, and the spec it writes for the next release (a moved
trainer, a Component, a removed PVC-backed store) upgrades the install with the claim kept."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml

from cluster.test_kustomize_release import REPOS, release_copy

from .conftest import cli_invoke, cli_run

kfdeploy = cli_run


def init(tmp_path: Path, release: Path, name: str, out: str) -> Path:
    code, stdout, err = cli_invoke("init", "--manifests", str(release), "--name", name, "-o", str(tmp_path / out))
    assert code == 0, stdout + err
    return tmp_path / out


def test_init_manifests_spec_installs_and_upgrades(cluster: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("KFDEPLOY_REPO_CACHE", str(tmp_path / "cache"))
    ns = f"kf-{uuid.uuid4().hex[:6]}"
    v1 = init(tmp_path, release_copy(REPOS / "release-v1", tmp_path / "v1", ns), f"init-{ns}", "v1.yaml")
    try:
        check_install_and_upgrade(cluster, tmp_path, ns, v1)
    finally:  # the fixture CRDs are cluster-wide: leave none behind for the next run
        kfdeploy(cluster, "delete", "-f", str(v1), "--yes", "--delete-pvcs", "--delete-crds")


def check_install_and_upgrade(cluster: Any, tmp_path: Path, ns: str, v1: Path) -> None:
    code, out, err = kfdeploy(cluster, "apply", "-f", str(v1), "--yes", "-o", "json")
    assert code == 0, err
    assert {a["outcome"] for a in json.loads(out)["applications"]} == {"applied"}
    code, out, err = kfdeploy(cluster, "plan", "-f", str(v1))
    assert code == 0, out + err

    v2 = init(tmp_path, release_copy(REPOS / "release-v2", tmp_path / "v2", ns), f"init-{ns}", "v2.yaml")
    apps = {a["name"]: a for a in yaml.safe_load(v2.read_text())["spec"]["applications"]}
    assert apps["pipeline"]["kustomize"]["components"] == ["common/security/baseline"]
    code, out, err = kfdeploy(cluster, "apply", "-f", str(v2), "--yes", "-o", "json")
    assert code == 0, err
    results = {a["name"]: a for a in json.loads(out)["applications"]}
    # v2 moved the trainer folder, so init names its application after the new folder: the
    # objects are handed over (same names), the old application's record goes.
    assert results["training"]["outcome"] == "applied"
    assert results["trainer"]["outcome"] == "pruned" and results["trainer"]["deleted"] == 0
    assert [k["object"] for k in results["pipeline"].get("kept", [])] == [f"PersistentVolumeClaim/{ns}/minio-pvc"]
    code, out, err = kfdeploy(cluster, "status", "-f", str(v2), "-o", "json")
    assert code == 0 and {c["health"] for c in json.loads(out)["components"]} == {"Healthy"}
    assert kfdeploy(cluster, "plan", "-f", str(v2))[0] == 0
