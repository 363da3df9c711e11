"""``kfdeploy credentials seed``: the Secrets an export leaves out, and only those, applied with
the credentials the cluster keeps; a second seed rotates nothing."""

from __future__ import annotations

import base64
import json
import uuid
from pathlib import Path

import yaml
from click.testing import CliRunner

from kfdeploy.cli import cli
from kfdeploy.kube import credential_store
from kfdeploy.kube.client import Cluster
from kfdeploy.kube.inventory import PART_OF, applyset_id
from tests.cluster.conftest import SharedCluster, cli_run

REPO = Path(__file__).resolve().parents[2]


def test_seed_applies_exactly_the_secrets_the_export_leaves_out(cluster: SharedCluster, tmp_path: Path) -> None:
    data = yaml.safe_load((REPO / "kfdef.yaml").read_text())
    kfdef = f"seeded-{uuid.uuid4().hex[:6]}"  # a first seed: no store of this KfDef yet
    data["metadata"]["name"] = kfdef
    data["spec"]["applications"] = [{"name": "istio"}, {"name": "auth"}]
    spec = tmp_path / "kfdef.yaml"
    spec.write_text(yaml.safe_dump(data))
    exported = CliRunner().invoke(cli, ["export", "-f", str(spec), "--format", "flux", "-d", str(tmp_path / "r"),
                                        "-o", "json"])
    assert exported.exit_code == 0, exported.output
    left_out = json.loads(exported.stdout)["clusters"][0]["seeded"]
    assert left_out

    code, out, err = cli_run(cluster, "credentials", "seed", "-f", str(spec), "-o", "json")
    assert code == 0, err
    first = json.loads(out)
    assert first["seeded"] == left_out and first["storeWritten"]
    kube = Cluster.connect(cluster.kubeconfig, cluster.context)
    values = {}
    for ref in left_out:
        _, namespace, name = ref.split("/")
        live = kube.get({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name, "namespace": namespace}})
        assert live is not None, ref
        assert live["metadata"]["labels"][PART_OF] == applyset_id(kfdef)
        decoded = {k: base64.b64decode(v).decode() for k, v in (live.get("data") or {}).items()}
        assert decoded and not any("<generated:" in v or "<secret:" in v for v in decoded.values()), ref
        values[ref] = decoded
    assert credential_store.reconciled_by_gitops(kube, kfdef)

    code, out, err = cli_run(cluster, "credentials", "seed", "-f", str(spec), "-o", "json")
    assert code == 0, err
    assert not json.loads(out)["storeWritten"]
    for ref, decoded in values.items():
        _, namespace, name = ref.split("/")
        live = kube.get({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name, "namespace": namespace}})
        assert {k: base64.b64decode(v).decode() for k, v in live["data"].items()} == decoded, f"{ref} rotated"
