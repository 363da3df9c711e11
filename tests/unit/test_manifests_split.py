"""kfdeploy init --manifests: an official-manifests-like release split into kustomize
applications. Pure parts over text and dicts; the split itself against the fixture releases
(tests/fixtures/repos), built with the real kustomize and compared with their example build."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from test_kustomize import needs_kubectl

from kfdeploy.cli import cli
from kfdeploy.errors import RenderError
from kfdeploy.render.release import compare, split_release
from kfdeploy.spec import parse_text
from kfdeploy.templates.manifests import (
    LayoutError,
    ManifestApp,
    dependencies,
    fallback_name,
    group,
    manifests_spec,
    parse_example,
)
from kfdeploy.templates.starter import StarterOptions

REPOS = Path(__file__).resolve().parents[1] / "fixtures" / "repos"


def test_example_resources_and_components_are_repo_relative() -> None:
    example = parse_example("resources:\n# Istio\n- ../common/istio/istio-crds/base\n- ../applications/katib/x/\n"
                            "components:\n- ../common/security/PSS/dynamic/baseline\n")
    assert example.resources == ["common/istio/istio-crds/base", "applications/katib/x"]
    assert example.components == ["common/security/PSS/dynamic/baseline"]


@pytest.mark.parametrize("text,fragment", [
    ("resources: [../a]\nnamePrefix: kf-\n", "sets namePrefix, which change every object"),
    ("resources: [https://github.com/x/y]\n", "is not a folder of the release"),
    ("resources: [local.yaml]\n", "is not a folder of the release"),
    ("kind: Kustomization\n", "has no resources list"),
    ("resources: [\n", "not valid YAML"),
])
def test_examples_that_cannot_be_split_are_refused(text: str, fragment: str) -> None:
    with pytest.raises(LayoutError, match=fragment):
        parse_example(text)


def test_folders_grouped_by_rules_in_example_order_unknown_ones_named_after_the_folder() -> None:
    apps = group(["common/cert-manager/base", "common/istio/istio-crds/base", "common/cert-manager/issuer",
                  "common/dex/overlays/x", "common/oauth2-proxy/overlays/y", "applications/newthing/upstream"])
    assert [(a.name, a.paths) for a in apps] == [
        ("cert-manager", ["common/cert-manager/base", "common/cert-manager/issuer"]),
        ("istio", ["common/istio/istio-crds/base"]),
        ("auth", ["common/dex/overlays/x", "common/oauth2-proxy/overlays/y"]),
        ("newthing", ["applications/newthing/upstream"]),
    ]
    assert fallback_name("experimental/Ray_Operator/x") == "ray-operator"


def obj(kind: str, name: str, ns: str | None = None, api: str = "v1", **extra: Any) -> dict[str, Any]:
    meta = {"name": name, **({"namespace": ns} if ns else {})}
    return {"apiVersion": api, "kind": kind, "metadata": meta, **extra}


def test_dependencies_follow_crds_and_namespaces() -> None:
    crd = obj("CustomResourceDefinition", "issuers.cert.example", api="apiextensions.k8s.io/v1",
              spec={"group": "cert.example", "names": {"kind": "Issuer"}})
    objects = {
        "certs": [crd, obj("Namespace", "certs"), obj("Deployment", "ctl", "certs", "apps/v1")],
        "base": [obj("Namespace", "kubeflow")],
        "pipelines": [obj("Issuer", "self", "kubeflow", "cert.example/v1"), obj("ConfigMap", "c", "kubeflow")],
        "alone": [obj("ClusterRole", "r", api="rbac.authorization.k8s.io/v1")],
    }
    assert dependencies(objects) == {"certs": [], "base": [], "pipelines": ["certs", "base"], "alone": []}


def test_spec_text_is_a_valid_kfdef_with_the_applications() -> None:
    apps = [ManifestApp("certs", ["common/certs/base"], "certificates"),
            ManifestApp("pipeline", ["apps/pipeline/upstream", "apps/x"], "pipelines",
                        ["common/security/baseline"], ["certs"])]
    text = manifests_spec(apps, "https://example.com/r/v1.tar.gz", StarterOptions(platform="kwok", name="kf"))
    spec = parse_text(text, "kfdef.yaml", REPOS)
    assert [r.uri for r in spec.spec.repos] == ["https://example.com/r/v1.tar.gz"]
    [certs, pipeline] = spec.spec.applications
    assert pipeline.kustomize is not None and pipeline.kustomize.paths == ["apps/pipeline/upstream", "apps/x"]
    assert pipeline.kustomize.components == ["common/security/baseline"] and pipeline.depends_on == ["certs"]
    assert certs.kustomize is not None and certs.kustomize.repo == "manifests"


def test_compare_names_lost_changed_and_doubled_objects() -> None:
    a, b, c = obj("ConfigMap", "a", "n"), obj("ConfigMap", "b", "n"), obj("ConfigMap", "c", "n")
    changed = {**b, "data": {"x": "1"}}
    check = compare([a, b, c], [a, a, changed])
    assert check.lost == ["ConfigMap/n/b", "ConfigMap/n/c"]
    assert check.extra == ["ConfigMap/n/a", "ConfigMap/n/b"] and check.twice == ["ConfigMap/n/a"]
    assert not check.ok and compare([a, b], [b, a]).ok


# -- against the fixture releases, with the real kustomize -----------------------------------

def quiet(_: str) -> None:
    pass


@needs_kubectl
def test_fixture_release_splits_into_applications_that_render_the_example() -> None:
    split = split_release(REPOS / "release-v1", quiet)
    assert split.check is not None and split.check.ok, split.check.problems()
    deps = {a.name: a.depends_on for a in split.applications}
    assert list(deps) == ["namespace", "certs", "pipeline", "trainer"]
    assert {a.name: a.paths for a in split.applications}["certs"] == ["common/certs/base", "common/certs/issuer"]
    assert "namespace" in deps["pipeline"] and "namespace" in deps["trainer"]
    assert split.objects == split.check.objects


@needs_kubectl
def test_component_goes_to_the_application_it_changes() -> None:
    split = split_release(REPOS / "release-v2", quiet)
    assert split.check is not None and split.check.ok, split.check.problems()
    comps = {a.name: a.components for a in split.applications}
    assert comps == {"namespace": [], "certs": [], "pipeline": ["common/security/baseline"], "training": []}


def cross_folder_release(root: Path) -> Path:
    """An example that resolves a generated ConfigMap's hashed name across folders: built
    apart, the reference in the other folder keeps the plain name."""
    (root / "example").mkdir(parents=True)
    (root / "example" / "kustomization.yaml").write_text("resources: [../config, ../app]\n")
    (root / "config").mkdir()
    (root / "config" / "kustomization.yaml").write_text(
        "configMapGenerator:\n- name: settings\n  namespace: web\n  literals: [a=1]\n")
    (root / "app").mkdir()
    (root / "app" / "kustomization.yaml").write_text("resources: [deploy.yaml]\n")
    (root / "app" / "deploy.yaml").write_text(yaml.safe_dump({
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "web"},
        "spec": {"selector": {"matchLabels": {"a": "b"}}, "template": {
            "metadata": {"labels": {"a": "b"}},
            "spec": {"containers": [{"name": "c", "image": "x", "envFrom": [{"configMapRef": {"name": "settings"}}]}]}}}}))
    return root


@needs_kubectl
def test_a_value_the_example_sets_across_folders_becomes_a_patch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    notes: list[str] = []
    split = split_release(cross_folder_release(tmp_path / "release"), notes.append)
    assert split.check is not None and split.check.ok, split.check.problems()
    [app] = [a for a in split.applications if a.name == "app"]
    assert [p["target"]["kind"] for p in app.patches] == ["Deployment"]
    assert any("Deployment/web/web differs from the example build" in n for n in notes)
    # The written spec renders the example's object: the reference carries the generated name.
    monkeypatch.setenv("KFDEPLOY_REPO_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "kfdef.yaml"
    assert CliRunner().invoke(cli, ["init", "--manifests", str(tmp_path / "release"), "-o", str(out)]).exit_code == 0
    shown = CliRunner().invoke(cli, ["show", "-f", str(out), "-a", "app", "-o", "json"])
    assert shown.exit_code == 0, shown.output
    [deployment] = [o for o in json.loads(shown.stdout) if o["kind"] == "Deployment"]
    ref = deployment["spec"]["template"]["spec"]["containers"][0]["envFrom"][0]["configMapRef"]["name"]
    assert ref.startswith("settings-") and ref != "settings"


@needs_kubectl
def test_init_writes_a_spec_that_renders_the_release(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KFDEPLOY_REPO_CACHE", str(tmp_path / "cache"))
    monkeypatch.chdir(tmp_path)
    shutil.copytree(REPOS / "release-v2", tmp_path / "release")
    out = tmp_path / "specs" / "kfdef.yaml"
    out.parent.mkdir()
    result = CliRunner().invoke(cli, ["init", "--manifests", "release", "--name", "kf", "-o", "specs/kfdef.yaml"])
    assert result.exit_code == 0, result.output
    assert "4 applications" in result.stdout and "the same objects as kustomize build example" in result.stdout
    data = yaml.safe_load(out.read_text())
    assert data["spec"]["repos"] == [{"name": "manifests", "uri": "../release"}]  # relative to the spec
    shown = CliRunner().invoke(cli, ["show", "-f", str(out), "-o", "json"])
    assert shown.exit_code == 0, shown.output


@needs_kubectl
def test_init_refuses_a_folder_that_is_not_a_release(tmp_path: Path) -> None:
    with pytest.raises(RenderError, match="is this a Kubeflow manifests release"):
        split_release(tmp_path, quiet)
