"""Patterns of the official releases that a real Flux showed, reconciled from kfdeploy's export.

The release is the test's own, written here: an aggregated ClusterRole that ships ``rules: []``
(as the official releases' ``kubeflow-admin``, ``kubeflow-edit``... do) and a ClusterRole
aggregated into it. Reconciled by Flux's real controllers (tests/fakes/flux.py) on the kwok
cluster, whose controller manager fills the aggregated rules: they must stay filled when Flux
reconciles again, Flux must report every object unchanged on that second pass, and ``kfdeploy
plan`` on the Flux-managed cluster must be a no-op. Opt-in: ``-m flux``.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from kfdeploy.cli import cli
from tests.cluster.conftest import SharedCluster, cli_run, eventually
from tests.fakes.flux import Flux

pytestmark = pytest.mark.flux
AGGREGATE = "example.com/aggregate-to-team-admin"


def release(root: Path, suffix: str) -> None:
    """One kustomize folder, ``roles``: the aggregated role and a role aggregated into it."""
    roles = [
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
         "metadata": {"name": f"team-admin-{suffix}"}, "rules": [],
         "aggregationRule": {"clusterRoleSelectors": [{"matchLabels": {AGGREGATE: suffix}}]}},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
         "metadata": {"name": f"team-reader-{suffix}", "labels": {AGGREGATE: suffix}},
         "rules": [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list"]}]},
    ]
    (root / "roles").mkdir(parents=True)
    (root / "roles" / "roles.yaml").write_text(yaml.safe_dump_all(roles))
    (root / "roles" / "kustomization.yaml").write_text(yaml.safe_dump({"resources": ["roles.yaml"]}))


def test_aggregated_cluster_role_through_flux(cluster: SharedCluster, flux: Flux, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KFDEPLOY_REPO_CACHE", str(tmp_path / "cache"))
    suffix = uuid.uuid4().hex[:6]
    release(tmp_path / "release", suffix)
    name = f"roles-{suffix}"
    spec = tmp_path / "kfdef.yaml"
    spec.write_text(yaml.safe_dump({
        "apiVersion": "kfdef.apps.kubeflow.org/v1", "kind": "KfDef", "metadata": {"name": name},
        "spec": {"platform": {"kind": "kwok"}, "repos": [{"name": "release", "uri": str(tmp_path / "release")}],
                 "applications": [{"name": "roles", "kustomize": {"repo": "release", "path": "roles"}}]}}))
    result = CliRunner().invoke(cli, ["export", "-f", str(spec), "--format", "flux", "-d", str(flux.work),
                                      "--repo-url", flux.repo_url, "-o", "json"])
    assert result.exit_code == 0, result.output
    names = set(json.loads(result.stdout)["clusters"][0]["applications"])  # with the platform's add-ons
    assert "roles" in names
    flux.bootstrap(name)
    revision = flux.push("roles")
    flux.wait_synced(revision, names)

    admin = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
             "metadata": {"name": f"team-admin-{suffix}"}}
    def rules() -> list[dict[str, Any]]:
        return list((flux.kube.get(admin) or {}).get("rules") or [])
    eventually(rules, lambda r: any("configmaps" in x.get("resources", []) for x in r),
               "the aggregation controller filled the aggregated role's rules", 60)

    # Flux reconciles again: nothing to change, and the aggregated rules stay.
    second = [(k, obj, action) for k, obj, action in flux.reconcile_again() if k == "roles"]
    assert len(second) == 2 and all(action == "unchanged" for _, _, action in second), second
    assert any("configmaps" in x.get("resources", []) for x in rules())

    code, out, err = cli_run(cluster, "status", "-f", str(spec), "-o", "json")
    assert code == 0 and {c["health"] for c in json.loads(out)["components"]} == {"Healthy"}, out + err
    code, out, err = cli_run(cluster, "plan", "-f", str(spec), "-o", "json")
    changes = [(a["name"], c) for a in json.loads(out)["applications"] for c in a["changes"]]
    assert code == 0 and changes == [], f"plan after Flux applied the export: {changes}"
