"""kfdeploy upgrade end to end: a customized spec of the fixture release v1, applied on kwok,
rewritten by `upgrade` for release v2 (its pipeline folder moved, the trainer moved under another
name, the minio store gone), applied again: the customization is live, the claim is kept, every
application is Healthy and a re-plan is a no-op."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from kubernetes import client

from cluster.test_init_manifests import init, kfdeploy
from cluster.test_kustomize_release import REPOS, release_copy
from kfdeploy.cli import cli


def moved_v2(tmp_path: Path, ns: str) -> Path:
    root = release_copy(REPOS / "release-v2", tmp_path / "v2", ns)
    (root / "apps" / "pipeline" / "upstream").rename(root / "apps" / "pipeline" / "overlays")
    example = root / "example" / "kustomization.yaml"
    example.write_text(example.read_text().replace("apps/pipeline/upstream", "apps/pipeline/overlays"))
    return root


def test_upgrade_carries_a_customization_across_a_moved_folder(cluster: Any, tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KFDEPLOY_REPO_CACHE", str(tmp_path / "cache"))
    ns = f"kf-{uuid.uuid4().hex[:6]}"
    spec = init(tmp_path, release_copy(REPOS / "release-v1", tmp_path / "v1", ns), f"up-{ns}", "kfdef.yaml")
    text = spec.read_text()
    at = text.index("\n", text.index("  - name: pipeline") + 1)
    spec.write_text(text[:at] + "\n    replicas: [{name: ml-pipeline, count: 2}]   # ours" + text[at:])
    try:
        code, out, err = kfdeploy(cluster, "apply", "-f", str(spec), "--yes", "-o", "json")
        assert code == 0, err
        result = CliRunner().invoke(cli, ["upgrade", "-f", str(spec), "--to", str(moved_v2(tmp_path, ns)), "--yes"])
        assert result.exit_code == 0, result.output
        assert "apps/pipeline/overlays" in spec.read_text() and "count: 2}]   # ours" in spec.read_text()

        code, out, err = kfdeploy(cluster, "apply", "-f", str(spec), "--yes", "-o", "json")
        assert code == 0, err
        results = {a["name"]: a for a in json.loads(out)["applications"]}
        assert results["training"]["outcome"] == "applied" and results["trainer"]["outcome"] == "pruned"
        assert [k["object"] for k in results["pipeline"].get("kept", [])] == [f"PersistentVolumeClaim/{ns}/minio-pvc"]
        apps_api = client.AppsV1Api(cluster.api)
        assert apps_api.read_namespaced_deployment("ml-pipeline", ns).spec.replicas == 2
        assert client.CoreV1Api(cluster.api).read_namespaced_persistent_volume_claim("minio-pvc", ns)
        code, out, err = kfdeploy(cluster, "status", "-f", str(spec), "-o", "json")
        assert code == 0 and {c["health"] for c in json.loads(out)["components"]} == {"Healthy"}
        assert kfdeploy(cluster, "plan", "-f", str(spec))[0] == 0
    finally:  # the fixture CRDs are cluster-wide: leave none behind for the next run
        kfdeploy(cluster, "delete", "-f", str(spec), "--yes", "--delete-pvcs", "--delete-crds")
