"""kustomize applications end to end through render(): the fixture releases under
tests/fixtures/repos, spec.repos references, paths, and the errors a user meets."""

from __future__ import annotations

import subprocess
import tarfile
from pathlib import Path
from typing import Any

import pytest
from label_policy import assert_source_labels_kept, source_and_rendered
from test_render import make_spec, write_library

from kfdeploy.errors import RenderError, SpecError, ToolMissingError
from kfdeploy.library import Library
from kfdeploy.render import render
from kfdeploy.render.kustomize import build_failure, network_guard_env
from kfdeploy.spec import parse_spec
from kfdeploy.tools import find_tool, tool_env

REPOS = Path(__file__).resolve().parents[1] / "fixtures" / "repos"


def kubectl_found() -> bool:
    try:
        find_tool("kubectl")
    except ToolMissingError:
        return False
    return True


needs_kubectl = pytest.mark.skipif(not kubectl_found(), reason="kubectl is not built yet (run `make tools`)")

V1_APPS: list[dict[str, Any]] = [
    {"name": "platform-namespace", "kustomize": {"repo": "release", "path": "common/namespace"}},
    {"name": "certs", "kustomize": {"repo": "release", "path": "common/certs/base"}},
    {"name": "issuer", "kustomize": {"repo": "release", "path": "common/certs/issuer"}, "dependsOn": ["certs"]},
    {"name": "pipeline", "kustomize": {"repo": "release", "path": "apps/pipeline/upstream"},
     "dependsOn": ["platform-namespace"]},
    {"name": "trainer", "kustomize": {"repo": "release", "path": "apps/trainer"}, "dependsOn": ["platform-namespace"]},
]


@pytest.fixture
def lib(tmp_path: Path) -> Library:
    return write_library(tmp_path / "lib", {"unused": []})


@pytest.fixture(autouse=True)
def repo_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("KFDEPLOY_REPO_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def release_spec(uri: str, apps: list[dict[str, Any]] = V1_APPS, base: Path = REPOS) -> Any:
    return make_spec({"repos": [{"name": "release", "uri": uri}], "applications": apps}, base)


def by_kind(objects: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {o["metadata"]["name"]: o for o in objects if o["kind"] == kind}


@needs_kubectl
def test_release_renders_every_application_in_dependency_order(lib: Library) -> None:
    rendered = render(release_spec("release-v1"), lib)
    names = rendered.names()
    assert set(names) == {a["name"] for a in V1_APPS}
    assert names.index("certs") < names.index("issuer")
    certs = {a.name: a for a in rendered.applications}["certs"].objects
    webhook = by_kind(certs, "Deployment")["certs-webhook"]
    # kustomize's own labels reached the selector; the source's component selector is there
    assert webhook["spec"]["selector"]["matchLabels"]["app.kubernetes.io/name"] == "certs"
    assert webhook["spec"]["selector"]["matchLabels"]["app.kubernetes.io/component"] == "webhook"
    assert webhook["spec"]["template"]["spec"]["containers"][0]["image"] == "registry.example/certs/webhook:v1.0.0"
    assert all(o["metadata"].get("namespace") == "certs" for o in certs
               if o["kind"] not in ("Namespace", "CustomResourceDefinition", "ClusterRole",
                                    "ClusterRoleBinding", "ValidatingWebhookConfiguration"))


@needs_kubectl
def test_replacements_and_vars_are_resolved_by_kustomize(lib: Library) -> None:
    apps = {a.name: a for a in render(release_spec("release-v1"), lib).applications}
    pipeline = apps["pipeline"].objects
    [config] = [o for o in pipeline if o["kind"] == "ConfigMap"]
    assert config["metadata"]["name"].startswith("pipeline-config-")  # generator hash suffix
    env = {e["name"]: e for e in by_kind(pipeline, "Deployment")["ml-pipeline"]["spec"]["template"]["spec"]
           ["containers"][0]["env"]}
    assert env["DB_HOST"]["value"] == config["data"]["dbHost"]
    assert env["BUCKET"]["valueFrom"]["configMapKeyRef"]["name"] == config["metadata"]["name"]
    manager = by_kind(apps["trainer"].objects, "Deployment")["trainer-controller-manager"]
    service = by_kind(apps["trainer"].objects, "Service")
    assert manager["spec"]["template"]["spec"]["containers"][0]["args"] == [
        f"--webhook-service={next(iter(service))}"]


@needs_kubectl
def test_path_list_renders_each_folder_and_keeps_all_objects(lib: Library) -> None:
    apps = [{"name": "certs", "kustomize": {"repo": "release", "path": ["common/certs/base", "common/certs/issuer"]}}]
    together = render(release_spec("release-v1", apps), lib).objects
    alone = render(release_spec("release-v1", V1_APPS[1:3]), lib).objects
    assert sorted((o["kind"], o["metadata"]["name"]) for o in together) == \
        sorted((o["kind"], o["metadata"]["name"]) for o in alone)


@needs_kubectl
def test_path_without_repo_is_relative_to_the_spec(lib: Library) -> None:
    spec = make_spec({"applications": [{"name": "ns", "kustomize": {"path": "release-v1/common/namespace"}}]}, REPOS)
    assert [o["metadata"]["name"] for o in render(spec, lib).objects] == ["kubeflow"]


@needs_kubectl
def test_tarball_with_a_top_level_folder_renders_like_the_folder(lib: Library, tmp_path: Path) -> None:
    archive = tmp_path / "release-1.0.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(REPOS / "release-v1", arcname="release-1.0")
    from_tar = render(release_spec(str(archive)), lib).objects
    from_dir = render(release_spec("release-v1"), lib).objects
    assert from_tar == from_dir


@needs_kubectl
def test_kustomize_runs_with_the_network_closed_and_its_fetch_error_maps_to_the_remote_message() -> None:
    env = network_guard_env(tool_env())
    done = subprocess.run([find_tool("kubectl"), "kustomize", str(REPOS / "remote-base")],
                          capture_output=True, text=True, check=False, env=env, timeout=120)
    assert done.returncode != 0  # the guard refuses the connection, online or not
    err = build_failure("web", "remote-base", done.stderr)
    assert "application 'web'" in err.message and "remote-base" in err.message
    assert "https://github.com/example-org/platform-manifests" in err.message
    assert "kfdeploy did not fetch" in err.message and err.hint


@needs_kubectl
def test_kustomize_failure_names_application_path_and_message(lib: Library, tmp_path: Path) -> None:
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "kustomization.yaml").write_text("resources:\n- missing-file.yaml\n")
    spec = make_spec({"applications": [{"name": "broken", "kustomize": {"path": "broken"}}]}, tmp_path)
    with pytest.raises(RenderError) as err:
        render(spec, lib)
    assert "application 'broken'" in str(err.value)
    assert "broken" in str(err.value) and "missing-file.yaml" in str(err.value)


@pytest.mark.parametrize("path, expected", [
    ("nowhere", "is not a folder"),
    ("plain", "has no kustomization.yaml"),
], ids=["missing-folder", "no-kustomization"])
def test_bad_paths_are_named(lib: Library, tmp_path: Path, path: str, expected: str) -> None:
    (tmp_path / "plain").mkdir()
    spec = make_spec({"applications": [{"name": "a", "kustomize": {"path": path}}]}, tmp_path)
    with pytest.raises(RenderError, match=expected) as err:
        render(spec, lib)
    assert path in str(err.value) and "application 'a'" in str(err.value)


def spec_problems(spec: dict[str, Any]) -> list[str]:
    doc = {"apiVersion": "kfdef.apps.kubeflow.org/v1", "kind": "KfDef", "metadata": {"name": "t"},
           "spec": {"platform": {"kind": "kwok"}, **spec}}
    with pytest.raises(SpecError) as err:
        parse_spec(doc, "kfdef.yaml", REPOS)
    return err.value.problems


@pytest.mark.parametrize("spec, where, words", [
    ({"repos": [{"name": "a", "uri": "x"}, {"name": "a", "uri": "y"}]}, "spec.repos[1].name", "duplicate repo"),
    ({"applications": [{"name": "p", "kustomize": {"repo": "nope", "path": "x"}}]},
     "spec.applications[0].kustomize.repo", "no repo named 'nope'"),
    ({"repos": [{"name": "a", "uri": "http://example.com/r.tar.gz"}]}, "spec.repos[0].uri", "https"),
    ({"repos": [{"name": "a", "uri": "https://example.com/repo"}]}, "spec.repos[0].uri", ".tar.gz"),
    ({"repos": [{"name": "a", "uri": "x", "sha256": "ABC"}]}, "spec.repos[0].sha256", ""),
    ({"repos": [{"name": "a", "uri": "x"}], "applications": [{"name": "p", "kustomize": {"repo": "a", "path": "../up"}}]},
     "spec.applications[0].kustomize.path", "leaves repo"),
    ({"applications": [{"name": "p", "kustomize": {"path": []}}]}, "spec.applications[0].kustomize.path", "non-empty"),
    ({"applications": [{"name": "p", "kustomize": {"path": "x"}, "helm": {"chart": "c"}}]},
     "spec.applications[0]", "one source"),
    ({"applications": [{"name": "p", "images": [{"name": "i", "newTag": "t"}]}]},
     "spec.applications[0].images", "helm and kustomize"),
    ({"applications": [{"name": "p", "kustomize": {"path": "x"}, "patches": [{"target": {"kind": "D"}}]}]},
     "spec.applications[0].patches[0]", "exactly one of patch"),
    ({"applications": [{"name": "p", "kustomize": {"path": "x"}, "images": [{"name": "i"}]}]},
     "spec.applications[0].images[0]", "newName, newTag or digest"),
    ({"applications": [{"name": "p", "kustomize": {"path": "x"}, "patches": [{"patch": {}, "target": {"name": "("}}]}]},
     "spec.applications[0].patches[0].target.name", "regular expression"),
], ids=["dup-repo", "unknown-repo", "http", "not-archive", "bad-sha", "dotdot", "empty-paths", "two-sources",
        "images-on-library", "patch-without-body", "image-no-change", "bad-regex"])
def test_spec_problems_name_the_field(spec: dict[str, Any], where: str, words: str) -> None:
    problems = spec_problems(spec)
    assert any(where in p and words in p for p in problems), problems


def test_params_of_a_kustomize_app_need_post_render(lib: Library) -> None:
    spec = make_spec({"applications": [{"name": "p", "kustomize": {"path": "x"}, "params": {"a": 1}}]})
    with pytest.raises(RenderError, match=r"spec.applications\[0\].params.*postRender"):
        render(spec, lib)


@needs_kubectl
@pytest.mark.parametrize("path", ["common/certs/base", "apps/trainer"])
def test_kustomize_source_selectors_and_templates_unchanged(lib: Library, path: str) -> None:
    """The label policy for kustomize output: the cert-manager-like and trainer-like bases
    select on app.kubernetes.io/component; kfdeploy leaves every label, selector and template."""
    spec = release_spec("release-v1", [{"name": "app", "kustomize": {"repo": "release", "path": path}}])
    raw, rendered = source_and_rendered(spec, lib, "app")
    assert any("app.kubernetes.io/component" in (o["spec"].get("selector") or {}).get("matchLabels", {})
               for o in raw if o["kind"] == "Deployment")
    assert_source_labels_kept(raw, rendered, "app")


@needs_kubectl
def test_of_several_failing_applications_the_first_in_order_is_reported(lib: Library, tmp_path: Path) -> None:
    for name in ("first", "second"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "kustomization.yaml").write_text(f"resources:\n- {name}-missing.yaml\n")
    spec = make_spec({"applications": [{"name": "first", "kustomize": {"path": "first"}, "dependsOn": ["second"]},
                                       {"name": "second", "kustomize": {"path": "second"}}]}, tmp_path)
    for _ in range(3):  # sources render in parallel; the report follows the dependency order
        with pytest.raises(RenderError, match="application 'second'"):
            render(spec, lib)
