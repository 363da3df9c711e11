"""Customizations of helm/kustomize applications: patches (strategic merge, JSON 6902,
targets), image overrides, replicas and postRender, over plain objects and through render()."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
from test_render import helm_binary, make_spec, write_library

from kfdeploy.errors import RenderError
from kfdeploy.library import Library
from kfdeploy.render import render
from kfdeploy.render.customize import customize
from kfdeploy.render.patches import merge, patch_objects, selector_matches
from kfdeploy.spec import Application, PatchTarget


def deployment(name: str, labels: dict[str, str] | None = None, image: str = "reg.example/app:1.0",
               namespace: str = "kubeflow") -> dict[str, Any]:
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "namespace": namespace, "labels": labels or {}},
            "spec": {"replicas": 1, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}}, "spec": {
                         "initContainers": [{"name": "init", "image": "reg.example/init:0.1"}],
                         "containers": [{"name": "main", "image": image, "env": [{"name": "A", "value": "1"}],
                                         "ports": [{"containerPort": 80}]},
                                        {"name": "sidecar", "image": "reg.example/proxy:2"}]}}}}


def containers(obj: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["name"]: c for c in obj["spec"]["template"]["spec"]["containers"]}


def test_strategic_merge_merges_containers_by_name_and_env_by_name() -> None:
    live = deployment("api")
    patch = {"spec": {"template": {"spec": {"containers": [
        {"name": "main", "env": [{"name": "B", "value": "2"}, {"name": "A", "value": "9"}]}]}}}}
    out = merge(live, patch, builtin=True)
    main = containers(out)["main"]
    assert main["image"] == "reg.example/app:1.0"  # untouched fields stay
    assert {e["name"]: e["value"] for e in main["env"]} == {"A": "9", "B": "2"}
    assert set(containers(out)) == {"main", "sidecar"}
    assert live == deployment("api")  # input not modified


def test_strategic_merge_directives_and_null() -> None:
    patch = {"metadata": {"labels": None},
             "spec": {"template": {"spec": {"containers": [{"name": "sidecar", "$patch": "delete"}],
                                            "initContainers": {"$patch": "delete"}}}}}
    out = merge(deployment("api", {"x": "y"}), patch, builtin=True)
    assert "labels" not in out["metadata"]
    assert set(containers(out)) == {"main"}
    assert "initContainers" not in out["spec"]["template"]["spec"]
    replaced = merge(deployment("api"), {"spec": {"template": {"spec": {"containers": [{"name": "only", "image": "i"}]}}}},
                     builtin=False)  # custom resources: lists are replaced
    assert list(containers(replaced)) == ["only"]


def test_patch_without_target_patches_the_object_it_names() -> None:
    objects = [deployment("api"), deployment("ui")]
    body = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "ui"}, "spec": {"replicas": 3}}
    out = patch_objects(objects, body, None, "kubeflow", "patches[0]")
    assert [o["spec"]["replicas"] for o in out] == [1, 3]


def test_json6902_with_label_selector_target() -> None:
    objects = [deployment("api", {"app.kubernetes.io/component": "ml-pipeline"}),
               deployment("ui", {"app.kubernetes.io/component": "frontend"})]
    ops = [{"op": "add", "path": "/spec/template/spec/containers/0/args", "value": ["--debug"]},
           {"op": "replace", "path": "/spec/replicas", "value": 2}]
    target = PatchTarget(kind="Deployment", label_selector="app.kubernetes.io/component in (ml-pipeline,x)")
    out = patch_objects(objects, ops, target, "kubeflow", "patches[0]")
    assert containers(out[0])["main"]["args"] == ["--debug"] and out[0]["spec"]["replicas"] == 2
    assert out[1] == objects[1]


def test_targeted_strategic_merge_ignores_the_patch_name_and_matches_name_regex() -> None:
    objects = [deployment("ml-pipeline"), deployment("ml-pipeline-ui"), deployment("other")]
    body = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "ignored", "annotations": {"a": "b"}}}
    out = patch_objects(objects, body, PatchTarget(name="ml-pipeline.*"), "kubeflow", "p")
    assert [o["metadata"].get("annotations") for o in out] == [{"a": "b"}, {"a": "b"}, None]
    assert [o["metadata"]["name"] for o in out] == ["ml-pipeline", "ml-pipeline-ui", "other"]


@pytest.mark.parametrize("body, target, words", [
    ({"kind": "Deployment", "apiVersion": "apps/v1", "metadata": {"name": "nope"}}, None, "matches no rendered object"),
    ([{"op": "add", "path": "/spec/x", "value": 1}], None, "needs a target"),
    ([{"op": "replace", "path": "/spec/missing/deep", "value": 1}], PatchTarget(name="api"), "cannot patch Deployment/kubeflow/api"),
    ({}, PatchTarget(namespace="other"), "matches no rendered object"),
], ids=["no-match", "6902-no-target", "6902-bad-path", "namespace-mismatch"])
def test_patch_errors(body: Any, target: PatchTarget | None, words: str) -> None:
    with pytest.raises(RenderError, match=words) as err:
        patch_objects([deployment("api")], body, target, "kubeflow", "application 'a' spec.applications[0].patches[1]")
    assert "patches[1]" in str(err.value)


@pytest.mark.parametrize("selector, expected", [
    ("app=x", True), ("app==x", True), ("app!=x", False), ("app", True), ("!app", False), ("tier", False),
    ("!tier", True), ("app in (y, x)", True), ("app notin (x)", False), ("app=x,env in (prod,dev)", True),
    ("app=x,env=test", False),
], ids=lambda v: str(v))
def test_label_selectors(selector: str, expected: bool) -> None:
    assert selector_matches(selector, {"app": "x", "env": "dev"}) is expected


def app(**fields: Any) -> Application:
    return Application.model_validate({"name": "pipeline", "kustomize": {"path": "x"}, **fields})


def run(objects: list[dict[str, Any]], application: Application, tmp_path: Path) -> list[dict[str, Any]]:
    spec = make_spec({}, tmp_path)
    return customize(copy.deepcopy(objects), application, "spec.applications[0]", spec, "kubeflow",
                     [Path(__file__).resolve().parents[2] / "jsonnet" / "lib"], dict(application.params))


def test_images_reach_init_containers_and_custom_resource_pod_specs(tmp_path: Path) -> None:
    notebook = {"apiVersion": "kubeflow.org/v1", "kind": "Notebook", "metadata": {"name": "nb"},
                "spec": {"template": {"spec": {"containers": [{"name": "nb", "image": "reg.example/init:0.1"}]}}}}
    out = run([deployment("api"), notebook], app(images=[{"name": "reg.example/init", "newName": "mirror/init"}]),
              tmp_path)
    assert out[0]["spec"]["template"]["spec"]["initContainers"][0]["image"] == "mirror/init:0.1"
    assert out[1]["spec"]["template"]["spec"]["containers"][0]["image"] == "mirror/init:0.1"
    assert containers(out[0])["main"]["image"] == "reg.example/app:1.0"


def test_unknown_image_and_replica_names_are_errors_listing_what_exists(tmp_path: Path) -> None:
    with pytest.raises(RenderError, match=r"images\[0\]: no container uses image 'reg.example/apps'.*reg.example/app,"):
        run([deployment("api")], app(images=[{"name": "reg.example/apps", "newTag": "2"}]), tmp_path)
    with pytest.raises(RenderError, match=r"replicas\[0\]: no workload with replicas .* named 'apx'; workloads: api"):
        run([deployment("api")], app(replicas=[{"name": "apx", "count": 2}]), tmp_path)


def test_replicas_set_only_named_workloads(tmp_path: Path) -> None:
    out = run([deployment("api"), deployment("ui")], app(replicas=[{"name": "ui", "count": 0}]), tmp_path)
    assert [o["spec"]["replicas"] for o in out] == [1, 0]


POST_RENDER = """function(objects, params) [
  o + (if o.kind == 'Deployment' then { metadata+: { annotations+: { owner: params.team } } } else {})
  for o in objects
] + [{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'added-by-' + params.team }, data: {
  images: std.join(',', [o.spec.template.spec.containers[0].image for o in objects if o.kind == 'Deployment']) } }]
"""


def test_post_render_runs_last_with_params(tmp_path: Path) -> None:
    (tmp_path / "post.jsonnet").write_text(POST_RENDER)
    application = app(postRender="post.jsonnet", params={"team": "ml"},
                      images=[{"name": "reg.example/app", "newTag": "9"}],
                      patches=[{"patch": "- {op: replace, path: /spec/replicas, value: 4}",
                                "target": {"kind": "Deployment"}}])
    out = run([deployment("api")], application, tmp_path)
    dep, added = out
    assert dep["metadata"]["annotations"] == {"owner": "ml"} and dep["spec"]["replicas"] == 4
    assert added["metadata"]["name"] == "added-by-ml"
    assert added["data"]["images"] == "reg.example/app:9"  # postRender saw the image override


def test_post_render_error_names_application_and_file(tmp_path: Path) -> None:
    (tmp_path / "post.jsonnet").write_text("function(objects, params) error 'boom'\n")
    with pytest.raises(RenderError, match=r"application 'pipeline' postRender: .*post.jsonnet.*boom|"
                                          r"application 'pipeline' postRender: .*boom"):
        run([deployment("api")], app(postRender="post.jsonnet"), tmp_path)
    with pytest.raises(RenderError, match="postRender file .*missing.jsonnet does not exist"):
        run([deployment("api")], app(postRender="missing.jsonnet"), tmp_path)


def test_patch_file_relative_to_spec(tmp_path: Path) -> None:
    (tmp_path / "p.yaml").write_text("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: api}\nspec: {replicas: 5}\n")
    out = run([deployment("api")], app(patches=[{"path": "p.yaml"}]), tmp_path)
    assert out[0]["spec"]["replicas"] == 5
    with pytest.raises(RenderError, match=r"patches\[0\].path: cannot read"):
        run([deployment("api")], app(patches=[{"path": "missing.yaml"}]), tmp_path)


@pytest.mark.skipif(helm_binary() is None, reason="helm is not built yet (run `make tools`)")
def test_helm_application_is_customized_through_render(tmp_path: Path) -> None:
    lib: Library = write_library(tmp_path / "lib", {"unused": []})
    spec = make_spec({"applications": [{"name": "tiny", "helm": {"chart": "charts/tiny"},
                                        "replicas": [{"name": "tiny", "count": 4}]}]})
    [dep] = [o for o in render(spec, lib).objects if o["kind"] == "Deployment"]
    assert dep["spec"]["replicas"] == 4
