"""kfdeploy export: the graph becomes dependsOn and waves, protections follow kinds.py, no
credential reaches any file, a re-export is byte-identical, and a fleet shares what renders alike."""

from __future__ import annotations

import base64
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from kfdeploy.cli import cli
from kfdeploy.credentials import Credentials
from kfdeploy.errors import RenderError
from kfdeploy.gitops import argocd, flux
from kfdeploy.gitops.tree import controller_fields, split, waves
from kfdeploy.kinds import rule_of
from kfdeploy.kube.inventory import HASH, PART_OF, applyset_id
from kfdeploy.library import default_root
from kfdeploy.render import render
from kfdeploy.spec import load_spec

ROOT = default_root()
SPEC = ROOT / "kfdef.yaml"


def export(tmp: Path, fmt: str, *specs: Path, out: str = "repo") -> tuple[Path, Any]:
    args = ["export", "--format", fmt, "-d", str(tmp / out), "-o", "json"]
    for s in specs or (SPEC,):
        args += ["-f", str(s)]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    return tmp / out, json.loads(result.stdout)


def docs(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


def tree_files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def graph() -> dict[str, list[str]]:
    rendered = render(load_spec(str(SPEC)))
    return {a.name: a.depends_on for a in rendered.applications}


@pytest.fixture(scope="module")
def flux_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return export(tmp_path_factory.mktemp("flux"), "flux")[0]


@pytest.fixture(scope="module")
def argo_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return export(tmp_path_factory.mktemp("argo"), "argocd")[0]


# -- the graph -----------------------------------------------------------------------------------

def test_flux_depends_on_is_the_application_graph(flux_repo: Path, graph: dict[str, list[str]]) -> None:
    ks = docs(flux_repo / "clusters/kubeflow/flux/applications.yaml")
    assert {k["metadata"]["name"]: [d["name"] for d in k["spec"].get("dependsOn", [])] for k in ks} == graph
    for k in ks:
        assert k["spec"]["prune"] is True and k["spec"]["timeout"] and k["spec"]["sourceRef"]["name"] == flux.SOURCE
        assert k["spec"]["commonMetadata"]["labels"] == {PART_OF: applyset_id("kubeflow")}
        assert (flux_repo / k["spec"]["path"] / "manifests.yaml").is_file()


def test_flux_waits_where_kfdeploy_waits(flux_repo: Path) -> None:
    for k in docs(flux_repo / "clusters/kubeflow/flux/applications.yaml"):
        objects = docs(flux_repo / k["spec"]["path"] / "manifests.yaml")
        assert k["spec"]["wait"] == any(rule_of(o).wait == "health" for o in objects), k["metadata"]["name"]


def test_argocd_waves_respect_every_edge(argo_repo: Path, graph: dict[str, list[str]]) -> None:
    apps = {a["metadata"]["name"]: a for p in (argo_repo / "clusters/kubeflow/argocd/apps").glob("*.yaml")
            for a in docs(p)}
    wave = {n.removeprefix("kubeflow-"): int(a["metadata"]["annotations"][argocd.WAVE]) for n, a in apps.items()}
    assert set(wave) == set(graph)
    edges = [(app, dep) for app, deps in graph.items() for dep in deps]
    assert edges, "the default platform has dependencies"
    for app, dep in edges:
        assert wave[dep] < wave[app], f"{app} (wave {wave[app]}) syncs before its dependency {dep} ({wave[dep]})"
    for a in apps.values():
        options = a["spec"]["syncPolicy"]["syncOptions"]
        assert "ServerSideApply=true" in options and a["spec"]["syncPolicy"]["automated"]["prune"] is True


@pytest.mark.parametrize("graph, expected", [
    ({"a": []}, {"a": 0}),
    ({"a": [], "b": ["a"], "c": ["a", "b"], "d": []}, {"a": 0, "b": 1, "c": 2, "d": 0}),
    ({"c": ["b"], "b": ["a"], "a": []}, {"c": 2, "b": 1, "a": 0}),
], ids=["single", "diamond", "listed-before-deps"])
def test_waves(graph: dict[str, list[str]], expected: dict[str, int]) -> None:
    assert waves(graph) == expected


# -- protections and controller-owned fields -----------------------------------------------------

@pytest.mark.parametrize("repo, key, value", [("flux_repo", flux.PRUNE, "disabled"),
                                             ("argo_repo", argocd.SYNC_OPTIONS, "Prune=false,Delete=false")],
                         ids=["flux", "argocd"])
def test_prune_protections_follow_kinds(request: pytest.FixtureRequest, repo: str, key: str, value: str) -> None:
    kinds = set()
    for path in request.getfixturevalue(repo).glob("apps/*/manifests.yaml"):
        for o in docs(path):
            annotations = o["metadata"].get("annotations") or {}
            assert (annotations.get(key) == value) == bool(rule_of(o).protection), f"{o['kind']} {path}"
            assert HASH in annotations
            if rule_of(o).protection:
                kinds.add(o["kind"])
    assert {"PersistentVolumeClaim", "CustomResourceDefinition", "Namespace"} <= kinds


def test_ignore_differences_cover_injected_ca_bundles(argo_repo: Path) -> None:
    ignored = set()
    webhooks = []
    for path in (argo_repo / "clusters/kubeflow/argocd/apps").glob("*.yaml"):
        app = docs(path)[0]
        ignored |= {(i["kind"], i["name"]) for i in app["spec"].get("ignoreDifferences", [])}
        webhooks += [(o["kind"], o["metadata"]["name"]) for o in docs(argo_repo / app["spec"]["source"]["path"]
                                                                       / "manifests.yaml")
                     if o["kind"].endswith("WebhookConfiguration")]
    assert webhooks and set(webhooks) <= ignored


def test_replicas_of_autoscaled_workloads_are_ignored() -> None:
    deploy = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "m", "namespace": "n"}}
    other = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "o", "namespace": "n"}}
    hpa = {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": {"name": "h", "namespace": "n"},
           "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "m"}}}
    fields = controller_fields([deploy, other, hpa])
    assert [(f.obj["metadata"]["name"], f.json_pointers) for f in fields] == [("m", ("/spec/replicas",))]


# -- credentials ------------------------------------------------------------------------------------

def test_no_credential_in_any_exported_file(tmp_path: Path) -> None:
    """Every value an install generates (and a spec.secrets literal) is absent from every
    file of both exports, in plain text and base64; the Secrets holding them are listed to seed."""
    doc = yaml.safe_load(SPEC.read_text())
    doc["spec"]["secrets"] = [{"name": "client", "secretSource": {"literalSource": {"value": "Zx81-client-secret"}}}]
    doc["spec"]["params"] = {"auth": {"oidcClientSecret": {"secretRef": "client"}}}
    spec_path = tmp_path / "kfdef.yaml"
    spec_path.write_text(yaml.safe_dump(doc))
    creds = Credentials({})
    render(load_spec(str(spec_path)), credentials=creds)  # as the seed's first run generates them
    values = [v for v in creds.values.values() if len(v) >= 8] + ["Zx81-client-secret"]
    assert len(values) > 3
    for fmt in ("flux", "argocd"):
        repo, result = export(tmp_path, fmt, spec_path, out=fmt)
        for rel, content in tree_files(repo).items():
            text = content.decode()
            for v in values:
                assert v not in text and base64.b64encode(v.encode()).decode() not in text, f"{rel} holds a credential"
        assert result["clusters"][0]["seeded"], "the library's credentials are seeded"
        assert "kfdeploy credentials seed" in (repo / "clusters/kubeflow/README.md").read_text()


def test_a_credential_outside_a_secret_is_refused() -> None:
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "n"},
          "data": {"url": "postgres://u:<generated:db.password>@db"}}
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "namespace": "n"},
              "stringData": {"p": "<secret:pw>"}}
    assert split("app", [secret]) == ([], [secret])
    with pytest.raises(RenderError, match="ConfigMap/n/c holds a credential outside a Secret"):
        split("app", [cm])


# -- determinism and layout -----------------------------------------------------------------------

@pytest.mark.parametrize("fmt, repo", [("flux", "flux_repo"), ("argocd", "argo_repo")], ids=["flux", "argocd"])
def test_re_export_is_byte_identical(request: pytest.FixtureRequest, tmp_path: Path, fmt: str, repo: str) -> None:
    """A re-export over an earlier one writes nothing and leaves others' files; the tree is
    byte for byte the one a fresh export wrote."""
    fresh = tree_files(request.getfixturevalue(repo))
    shutil.copytree(request.getfixturevalue(repo), tmp_path / "repo")
    (tmp_path / "repo" / "NOTES.md").write_text("mine\n")
    _, again = export(tmp_path, fmt)
    assert again["written"] == [] and again["removed"] == []
    assert tree_files(tmp_path / "repo") == {**fresh, "NOTES.md": b"mine\n"}


def test_removed_application_folder_is_removed(tmp_path: Path) -> None:
    doc = yaml.safe_load(SPEC.read_text())
    spec_path = tmp_path / "kfdef.yaml"
    spec_path.write_text(yaml.safe_dump(doc))
    repo, _ = export(tmp_path, "flux", spec_path)
    assert (repo / "apps/tensorboards").is_dir()
    doc["spec"]["applications"] = [a for a in doc["spec"]["applications"] if a["name"] != "tensorboards"]
    spec_path.write_text(yaml.safe_dump(doc))
    _, result = export(tmp_path, "flux", spec_path)
    assert not (repo / "apps/tensorboards").exists()
    assert "apps/tensorboards/manifests.yaml" in result["removed"]
    names = [k["metadata"]["name"] for k in docs(repo / "clusters/kubeflow/flux/applications.yaml")]
    assert "tensorboards" not in names


def test_fleet_shares_what_renders_alike(tmp_path: Path) -> None:
    base = yaml.safe_load(SPEC.read_text())
    specs = []
    for name, replicas in (("dev", 1), ("prod", 3)):
        doc = json.loads(json.dumps(base))
        doc["metadata"]["name"] = name
        doc["spec"]["params"] = {"central-dashboard": {"replicas": replicas}}
        path = tmp_path / f"{name}.yaml"
        path.write_text(yaml.safe_dump(doc))
        specs.append(path)
    repo, result = export(tmp_path, "flux", *specs)
    own = {c["name"]: c["ownApplications"] for c in result["clusters"]}
    assert own == {"dev": ["central-dashboard"], "prod": ["central-dashboard"]}
    assert "central-dashboard" not in result["shared"] and "istio" in result["shared"]
    assert not (repo / "apps/central-dashboard").exists()
    for name, replicas in (("dev", 1), ("prod", 3)):
        dashboard = [o for o in docs(repo / f"clusters/{name}/apps/central-dashboard/manifests.yaml")
                     if o["kind"] == "Deployment"]
        assert [d["spec"]["replicas"] for d in dashboard] == [replicas]
        paths = {k["metadata"]["name"]: k["spec"]["path"]
                 for k in docs(repo / f"clusters/{name}/flux/applications.yaml")}
        assert paths["central-dashboard"] == f"./clusters/{name}/apps/central-dashboard"
        assert paths["istio"] == "./apps/istio"
        labels = {k["spec"]["commonMetadata"]["labels"][PART_OF]
                  for k in docs(repo / f"clusters/{name}/flux/applications.yaml")}
        assert labels == {applyset_id(name)}


def test_plan_of_a_gitops_cluster_compares_with_the_export() -> None:
    """A GitOps-managed cluster holds the export's objects (checksums of placeholders on pod
    templates) and the seeded Secrets with real values: ``as_exported`` is exactly that."""
    from kfdeploy.gitops.tree import as_exported
    from kfdeploy.kube.order import object_key
    spec = load_spec(str(SPEC))
    real = render(spec, credentials=Credentials({}))
    offline = render(spec, credentials=Credentials.offline(masked=True))
    view = as_exported(real, offline)
    seeded = {object_key(s) for a in offline.applications for s in split(a.name, a.objects)[1]}
    assert seeded
    real_by_key = {object_key(o): o for o in real.objects}
    offline_by_key = {object_key(o): o for o in offline.objects}
    differs = 0
    for obj in view.objects:
        key = object_key(obj)
        assert obj == (real_by_key[key] if key in seeded else offline_by_key[key])
        differs += key not in seeded and obj != real_by_key[key]
    assert differs, "some pod template reads a seeded Secret (its checksum differs from a live render's)"
    assert [a.name for a in view.applications] == [a.name for a in real.applications]


def test_an_aggregated_cluster_role_is_exported_as_apply_applies_it() -> None:
    """Upstream releases ship aggregated ClusterRoles with ``rules: []``. The export writes them
    as apply applies them: without ``rules`` (the aggregation controller's field) and with the
    hash apply stamps, so an engine does not reset the aggregated rules and ``plan`` on an
    engine-managed cluster finds them unchanged."""
    from kfdeploy.gitops.tree import cluster_export
    from kfdeploy.kube.inventory import stamp
    from kfdeploy.render import Rendered, RenderedApp
    aggregated = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
                  "metadata": {"name": "team-admin"}, "rules": [],
                  "aggregationRule": {"clusterRoleSelectors": [
                      {"matchLabels": {"example.com/aggregate-to-team-admin": "true"}}]}}
    part = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
            "metadata": {"name": "team-reader", "labels": {"example.com/aggregate-to-team-admin": "true"}},
            "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}]}
    export = cluster_export("c", Rendered([RenderedApp("team", [aggregated, part], [], "team", "")]))
    exported = {o["metadata"]["name"]: o for o in export.apps[0].objects}
    assert "rules" not in exported["team-admin"] and exported["team-admin"]["aggregationRule"]
    assert exported["team-reader"]["rules"] == part["rules"]
    for obj in (aggregated, part):
        applied = stamp(obj, export.applyset)
        assert exported[obj["metadata"]["name"]]["metadata"]["annotations"][HASH] == \
            applied["metadata"]["annotations"][HASH]
