"""``kfdeploy export --sops-age-recipient`` against the cluster: the values are the ones the
cluster keeps (generated and stored on the first export, never rotated), no value reaches any
file, and sops runs again only where a value, a Secret or the recipients changed (or with
``--sops-rotate``), so a re-export is byte-identical. sops is the stub of tests/fakes/bin-sops;
the real sops and a real Flux decrypting are in test_flux_sops.py."""

from __future__ import annotations

import base64
import json
import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml

from kfdeploy.kube import credential_store
from kfdeploy.kube.client import Cluster
from tests.cluster.conftest import SharedCluster, cli_run

REPO = Path(__file__).resolve().parents[2]
STUB = REPO / "tests" / "fakes" / "bin-sops" / "sops"
R1, R2 = "age1" + "q" * 58, "age1" + "z" * 58


def tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_export_encrypts_the_values_the_cluster_keeps(cluster: SharedCluster, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    log = tmp_path / "sops.log"
    monkeypatch.setenv("FAKE_SOPS_LOG", str(log))
    monkeypatch.setenv("KFDEPLOY_SOPS_BINARY", str(STUB))
    data = yaml.safe_load((REPO / "kfdef.yaml").read_text())
    kfdef = f"sealed-{uuid.uuid4().hex[:6]}"  # no store of this KfDef yet
    data["metadata"]["name"] = kfdef
    data["spec"]["applications"] = [{"name": n} for n in ("istio", "cert-manager", "auth", "katib")]
    data["spec"]["secrets"] = [{"name": "client", "secretSource": {"literalSource": {"value": "Zx81-client-secret"}}}]
    data["spec"]["params"] = {"auth": {"oidcClientSecret": {"secretRef": "client"}}}
    spec = tmp_path / "kfdef.yaml"
    spec.write_text(yaml.safe_dump(data))
    repo = tmp_path / "repo"

    printed: list[str] = []

    def export(*extra: str) -> dict[str, Any]:
        code, out, err = cli_run(cluster, "export", "-f", str(spec), "--format", "flux", "-d", str(repo),
                                 "--sops-age-recipient", R1, *extra, "-o", "json")
        assert code == 0, err
        printed.append(out + err)
        return dict(json.loads(out))

    def sops_calls() -> int:
        return len(log.read_text().splitlines()) if log.exists() else 0

    first = export()
    sealed = sorted(p for p in tree(repo) if "/sops/" in p and not p.endswith("kustomization.yaml"))
    assert first["encrypted"] == sealed and len(sealed) == len(first["clusters"][0]["seeded"]) == 3
    kube = Cluster.connect(cluster.kubeconfig, cluster.context)
    stored = credential_store.read(kube, kfdef)
    assert stored and credential_store.reconciled_by_gitops(kube, kfdef)
    values = [v for v in stored.values() if len(v) >= 8] + ["Zx81-client-secret"]
    for v in values:
        assert v not in printed[0] and base64.b64encode(v.encode()).decode() not in printed[0], "a value was printed"
    for rel, content in tree(repo).items():
        for v in values:
            assert v.encode() not in content and base64.b64encode(v.encode()) not in content, f"{rel} holds a value"
    for path in sealed:
        doc = yaml.safe_load((repo / path).read_text())
        assert doc["kind"] == "Secret" and doc["sops"]["age"][0]["recipient"] == R1
        assert all(str(v).startswith("ENC[") for v in {**doc.get("data", {}), **doc.get("stringData", {})}.values())

    # An unchanged re-export: no sops run, no byte changed, nothing rotated.
    before, calls = tree(repo), sops_calls()
    again = export()
    assert again["written"] == [] and again["encrypted"] == [] and sops_calls() == calls
    assert tree(repo) == before and credential_store.read(kube, kfdef) == stored

    # A changed spec value: exactly its Secret is encrypted again.
    data["spec"]["secrets"][0]["secretSource"]["literalSource"]["value"] = "Zx82-client-secret"
    spec.write_text(yaml.safe_dump(data))
    changed = export()
    assert changed["encrypted"] == changed["written"] == [p for p in sealed if "oidc-client" in p]
    stored = {**stored, "auth.oidcClientSecret": "Zx82-client-secret"}  # the spec's value; the rest kept
    assert credential_store.read(kube, kfdef) == stored

    # Another recipient: every Secret; --sops-rotate: every Secret, values kept.
    code, out, err = cli_run(cluster, "export", "-f", str(spec), "--format", "flux", "-d", str(repo),
                             "--sops-age-recipient", R1, "--sops-age-recipient", R2, "-o", "json")
    assert code == 0 and json.loads(out)["encrypted"] == sealed, err
    rotated = export("--sops-rotate")
    assert rotated["encrypted"] == sealed and credential_store.read(kube, kfdef) == stored
