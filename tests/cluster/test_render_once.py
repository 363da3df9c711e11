"""One render per application per run, and the render cache, against the real local control
plane: apply renders each application once, a re-apply and a plan read every source from the
cache but the one that reads generated credentials, the cached render is exactly what was
applied (plan finds nothing to change, with the cache and without it), and no cache entry holds
a credential."""

from __future__ import annotations

import base64
import json
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import yaml

from kfdeploy.render import SOURCE_RENDERS

from .conftest import cli_run

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
VAULT_MAIN = """function(params) [
  { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'vault', namespace: params.namespace },
    stringData: { password: params.password } },
  { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'vault', namespace: params.namespace },
    spec: { selector: { matchLabels: { app: 'vault' } }, template: {
      metadata: { labels: { app: 'vault' } },
      spec: { containers: [{ name: 'vault', image: 'registry.example/vault:1',
                             envFrom: [{ secretRef: { name: 'vault' } }] }] } } } },
]
"""


def write_project(tmp_path: Path, ns: str) -> Path:
    vault = tmp_path / "vault"
    vault.mkdir()
    (vault / "main.jsonnet").write_text(VAULT_MAIN)
    (vault / "component.yaml").write_text(yaml.safe_dump({
        "description": "a component with a generated credential",
        "params": {"namespace": {"type": "string", "default": ns, "doc": "n"},
                   "password": {"type": "string", "default": "", "doc": "p"}},
        "credentials": {"password": {"length": 24}}}))
    web = tmp_path / "web"
    web.mkdir()
    (web / "kustomization.yaml").write_text(yaml.safe_dump({
        "namespace": ns, "resources": ["namespace.yaml", "deployment.yaml"],
        "configMapGenerator": [{"name": "web-config", "literals": ["mode=cached"]}]}))
    (web / "namespace.yaml").write_text(yaml.safe_dump({"apiVersion": "v1", "kind": "Namespace",
                                                         "metadata": {"name": ns}}))
    (web / "deployment.yaml").write_text(yaml.safe_dump({
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
        "spec": {"selector": {"matchLabels": {"app": "web"}}, "template": {
            "metadata": {"labels": {"app": "web"}},
            "spec": {"containers": [{"name": "web", "image": "registry.example/web:1"}]}}}}))
    spec = {"apiVersion": "kfdef.apps.kubeflow.org/v1", "kind": "KfDef",
            "metadata": {"name": f"once-{ns}", "namespace": ns},
            "spec": {"platform": {"kind": "kwok"}, "applications": [
                {"name": "vault", "jsonnet": {"path": "vault"}, "dependsOn": ["web"]},
                {"name": "web", "kustomize": {"path": "web"}, "replicas": [{"name": "web", "count": 2}]},
                {"name": "tiny", "dependsOn": ["web"], "helm": {"chart": str(FIXTURES / "charts" / "tiny"), "namespace": ns,
                                          "values": {"message": "cached"}}}]}}
    path = tmp_path / "kfdef.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


def run(cluster: Any, *args: str) -> tuple[int, str, str, Counter[str]]:
    """The CLI's exit code, stdout, stderr and the sources it really rendered."""
    before = Counter(SOURCE_RENDERS)
    code, out, err = cli_run(cluster, *args)
    return code, out, err, Counter({n: c - before[n] for n, c in SOURCE_RENDERS.items() if c > before[n]})


def test_each_application_renders_once_and_a_rerun_reads_the_cache(cluster: Any, tmp_path: Path,
                                                                   monkeypatch: Any) -> None:
    render_cache = tmp_path / "render-cache"  # empty: earlier tests cached the platform's add-on
    monkeypatch.setenv("KFDEPLOY_RENDER_CACHE", str(render_cache))
    ns = f"once-{uuid.uuid4().hex[:6]}"
    spec = str(write_project(tmp_path, ns))
    code, out, err, rendered = run(cluster, "apply", "-f", spec, "--yes", "-o", "json")
    assert code == 0, err
    applied = [a["name"] for a in json.loads(out)["applications"]]
    assert rendered == Counter(applied)  # each application once, the platform's add-on too

    code, out, err, rendered = run(cluster, "apply", "-f", spec, "--yes", "-o", "json")
    assert code == 0, err
    assert all(a["outcome"] == "unchanged" for a in json.loads(out)["applications"])
    assert rendered == Counter({"vault": 1})  # it reads the generated credential: never cached
    assert "web: rendered (cached)" in err and "tiny: rendered (cached)" in err

    for flags in ((), ("--no-cache",)):
        code, out, err, rendered = run(cluster, "plan", "-f", spec, *flags)
        assert code == 0, out + err  # the same objects as applied: nothing to change
        assert rendered == (Counter(applied) if flags else Counter({"vault": 1}))

    stored = "".join(p.read_text() for p in render_cache.rglob("*.json"))
    assert "registry.example/web:1" in stored  # the cache served web
    store = _credential_store(cluster, f"once-{ns}")
    assert store and not [v for v in store for form in (v, base64.b64encode(v.encode()).decode())
                          if form in stored]


def _credential_store(cluster: Any, name: str) -> list[str]:
    from kfdeploy.kube.client import Cluster

    kube = Cluster.connect(cluster.kubeconfig, cluster.context)
    secret = kube.get({"apiVersion": "v1", "kind": "Secret",
                       "metadata": {"name": f"kfdeploy.{name}.credentials", "namespace": "kfdeploy-system"}})
    assert secret is not None
    return [base64.b64decode(v).decode() for v in secret["data"].values()]


def test_a_plan_of_a_gitops_managed_cluster_renders_each_source_once(cluster: Any, tmp_path: Path,
                                                                     monkeypatch: Any) -> None:
    """It compares with the export (placeholders where the cluster's credentials were): only the
    sources that read a credential are rendered again for it, the others are the session's."""
    monkeypatch.setenv("KFDEPLOY_RENDER_CACHE", str(tmp_path / "render-cache"))
    ns = f"once-{uuid.uuid4().hex[:6]}"
    spec = str(write_project(tmp_path, ns))
    code, out, err, _ = run(cluster, "apply", "-f", spec, "--yes", "-o", "json")
    assert code == 0, err
    applied = [a["name"] for a in json.loads(out)["applications"]]
    code, out, err, _ = run(cluster, "credentials", "seed", "-f", spec)  # now GitOps-managed
    assert code == 0, err

    code, out, err, rendered = run(cluster, "plan", "-f", spec, "--no-cache")
    assert code in (0, 2), out + err
    assert "vault" in out  # compared with the export: its pods' credential checksum is the placeholders'
    assert rendered == Counter(applied) + Counter({"vault": 1})  # with the cluster's credentials, then as exported
