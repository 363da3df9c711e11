"""Image references: the grammar, Docker Hub expansion, kustomize overrides, mirror rewrites, and
finding images in containers and configuration values (fixtures follow the upstream patterns)."""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml

from kfdeploy.render import images
from kfdeploy.render.images import ImageError, ImageOverride, ImageRef

DIGEST = "sha256:" + "ab" * 32

PARSE = [
    ("hub-official", "mysql:8.0", ImageRef("", "mysql", "8.0")),
    ("hub-user", "kserve/agent:v0.14.1", ImageRef("", "kserve/agent", "v0.14.1")),
    ("registry", "ghcr.io/kubeflow/kfp-api-server:2.5.0", ImageRef("ghcr.io", "kubeflow/kfp-api-server", "2.5.0")),
    ("registry-port", "localhost:5000/x/y", ImageRef("localhost:5000", "x/y")),
    ("localhost", "localhost/app:1", ImageRef("localhost", "app", "1")),
    ("digest-only", f"gcr.io/knative-releases/cmd/queue@{DIGEST}", ImageRef("gcr.io", "knative-releases/cmd/queue", "", DIGEST)),
    ("tag-and-digest", f"quay.io/argoproj/argoexec:v3.5.14@{DIGEST}", ImageRef("quay.io", "argoproj/argoexec", "v3.5.14", DIGEST)),
    ("no-tag", "registry.k8s.io/busybox", ImageRef("registry.k8s.io", "busybox")),
]


@pytest.mark.parametrize("text,ref", [r[1:] for r in PARSE], ids=[r[0] for r in PARSE])
def test_parse_and_format_round_trip(text: str, ref: ImageRef) -> None:
    assert images.parse(text) == ref
    assert str(ref) == text


@pytest.mark.parametrize("text", ["", "repo/Upper:1", "a//b", "name:", "x@sha256:zz", "-lead/x", "{{.Image}}",
                                  "$(params.image)", "IfNotPresent"])
def test_parse_rejects_non_references(text: str) -> None:
    with pytest.raises(ImageError, match="not an image reference"):
        images.parse(text)
    assert not images.is_image(text)


EXPAND = [
    ("official", "mysql:8.0", "docker.io/library/mysql:8.0"),
    ("user", "kserve/agent:v1", "docker.io/kserve/agent:v1"),
    ("index-alias", "index.docker.io/library/busybox", "docker.io/library/busybox"),
    ("qualified-unchanged", "ghcr.io/a/b:1", "ghcr.io/a/b:1"),
]


@pytest.mark.parametrize("text,want", [r[1:] for r in EXPAND], ids=[r[0] for r in EXPAND])
def test_expand(text: str, want: str) -> None:
    assert images.expand(text) == want


MIRROR = [
    ("official", "mysql:8.0", "reg.corp/kf/library/mysql:8.0"),
    ("hub-user", "kserve/agent:v1", "reg.corp/kf/kserve/agent:v1"),
    ("path-kept", "ghcr.io/kubeflow/kfp-api-server:2.5.0", "reg.corp/kf/kubeflow/kfp-api-server:2.5.0"),
    ("digest-kept", f"gcr.io/knative-releases/q@{DIGEST}", f"reg.corp/kf/knative-releases/q@{DIGEST}"),
    ("already-mirrored", "reg.corp/kf/x/y:1", "reg.corp/kf/x/y:1"),
    ("port-host", "localhost:5000/x:1", "reg.corp/kf/x:1"),
]


@pytest.mark.parametrize("text,want", [r[1:] for r in MIRROR], ids=[r[0] for r in MIRROR])
def test_mirror(text: str, want: str) -> None:
    assert images.mirror(text, "reg.corp/kf") == want
    assert images.mirror(want, "reg.corp/kf/") == want  # idempotent


def test_mirror_of_a_bare_host_keeps_the_whole_path() -> None:
    assert images.mirror("ghcr.io/kubeflow/x:1", "mirror.local:5000") == "mirror.local:5000/kubeflow/x:1"


OVERRIDE = [
    ("new-tag", ImageOverride("nginx", new_tag="1.8.0"), "nginx:1.7.9", "nginx:1.8.0"),
    ("new-name-keeps-tag", ImageOverride("postgres", new_name="my-registry/my-postgres"), "postgres:8",
     "my-registry/my-postgres:8"),
    ("digest-replaces-tag", ImageOverride("alpine", digest=DIGEST), "alpine:3.7", f"alpine@{DIGEST}"),
    ("tag-replaces-digest", ImageOverride("alpine", new_tag="3.8"), f"alpine:3.7@{DIGEST}", "alpine:3.8"),
    ("tag-and-digest", ImageOverride("a/b", new_tag="2", digest=DIGEST), "a/b:1", f"a/b:2@{DIGEST}"),
    ("untagged", ImageOverride("ghcr.io/kubeflow/kfp-api-server", new_tag="2.5.0"),
     "ghcr.io/kubeflow/kfp-api-server", "ghcr.io/kubeflow/kfp-api-server:2.5.0"),
    ("name-is-literal", ImageOverride("nginx", new_tag="9"), "docker.io/library/nginx:1", "docker.io/library/nginx:1"),
    ("prefix-no-match", ImageOverride("nginx", new_tag="9"), "nginx-exporter:1", "nginx-exporter:1"),
]


@pytest.mark.parametrize("o,text,want", [r[1:] for r in OVERRIDE], ids=[r[0] for r in OVERRIDE])
def test_kustomize_override(o: ImageOverride, text: str, want: str) -> None:
    assert images.override(text, [o]) == want


def test_first_matching_override_wins() -> None:
    assert images.override("nginx:1", [ImageOverride("x", new_tag="0"), ImageOverride("nginx", new_tag="2"),
                                       ImageOverride("nginx", new_tag="3")]) == "nginx:2"


# --- finding images in objects ---------------------------------------------------------------

def pod_spec(*images_: str, init: str | None = None, env: list[dict[str, Any]] | None = None,
             args: list[str] | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"containers": [{"name": f"c{i}", "image": im, "env": env or [], "args": args or []}
                                           for i, im in enumerate(images_)]}
    if init:
        spec["initContainers"] = [{"name": "init", "image": init}]
    return spec


def obj(kind: str, spec: dict[str, Any], api: str = "apps/v1", **extra: Any) -> dict[str, Any]:
    return {"apiVersion": api, "kind": kind, "metadata": {"name": "x", "namespace": "kubeflow"}, "spec": spec,
            **extra}


WORKLOADS = [
    ("deployment", obj("Deployment", {"template": {"spec": pod_spec("a/b:1", init="busybox:1.36")}})),
    ("statefulset", obj("StatefulSet", {"template": {"spec": pod_spec("a/b:1", init="busybox:1.36")}})),
    ("daemonset", obj("DaemonSet", {"template": {"spec": pod_spec("a/b:1", init="busybox:1.36")}})),
    ("job", obj("Job", {"template": {"spec": pod_spec("a/b:1", init="busybox:1.36")}}, api="batch/v1")),
    ("cronjob", obj("CronJob", {"jobTemplate": {"spec": {"template": {"spec": pod_spec("a/b:1", init="busybox:1.36")}}}},
                    api="batch/v1")),
    ("pod-ephemeral", obj("Pod", {**pod_spec("a/b:1"), "ephemeralContainers": [{"name": "d", "image": "busybox:1.36"}]},
                          api="v1")),
    ("serving-runtime", obj("ClusterServingRuntime", {**pod_spec("a/b:1"),
                                                      "supportedModelFormats": [{"name": "sklearn"}],
                                                      "initContainers": [{"name": "i", "image": "busybox:1.36"}]},
                            api="serving.kserve.io/v1alpha1")),
    ("storage-container", obj("ClusterStorageContainer",
                              {"container": {"name": "s", "image": "a/b:1"},
                               "supportedUriFormats": [{"prefix": "busybox:1.36"}]}, api="serving.kserve.io/v1alpha1")),
]


@pytest.mark.parametrize("o", [r[1] for r in WORKLOADS], ids=[r[0] for r in WORKLOADS])
def test_find_in_every_workload_kind(o: dict[str, Any]) -> None:
    found = {u.image for u in images.find(o) if not u.in_config}
    expected = {"a/b:1"} | ({"busybox:1.36"} if o["kind"] != "ClusterStorageContainer" else set())
    assert found == expected
    rewritten = images.rewrite(o, lambda im: images.mirror(im, "m.io"))
    assert {u.image for u in images.find(rewritten) if not u.in_config} == {images.mirror(i, "m.io") for i in expected}
    assert o["spec"] != rewritten["spec"]  # the input is not changed in place
    assert images.find(o)[0].image in expected


def test_field_paths_name_the_container() -> None:
    o = WORKLOADS[4][1]
    fields = {u.field for u in images.find(o)}
    assert ".spec.jobTemplate.spec.template.spec.containers[0].image" in fields
    assert ".spec.jobTemplate.spec.template.spec.initContainers[0].image" in fields


def test_env_values_and_flags_naming_images() -> None:
    env = [{"name": "V2_DRIVER_IMAGE", "value": "ghcr.io/kubeflow/kfp-driver:2.5.0"},
           {"name": "IMAGE_PULL_POLICY", "value": "always/x:1"},
           {"name": "LOG_LEVEL", "value": "info/x:1"},
           {"name": "CACHE_IMAGE", "valueFrom": {"configMapKeyRef": {"name": "c", "key": "cacheImage"}}}]
    args = ["--configmap", "cfg", "--executor-image", "quay.io/argoproj/argoexec:v3.5.14",
            "--acme-http01-solver-image=quay.io/jetstack/cert-manager-acmesolver:v1.16.1", "--image-tag=x"]
    o = obj("Deployment", {"template": {"spec": pod_spec("a/b:1", env=env, args=args)}})
    config = {u.image for u in images.find(o) if u.in_config}
    assert config == {"ghcr.io/kubeflow/kfp-driver:2.5.0", "quay.io/argoproj/argoexec:v3.5.14",
                      "quay.io/jetstack/cert-manager-acmesolver:v1.16.1"}
    out = images.rewrite(o, lambda im: images.mirror(im, "m.io/k"))
    c = out["spec"]["template"]["spec"]["containers"][0]
    assert c["env"][0]["value"] == "m.io/k/kubeflow/kfp-driver:2.5.0"
    assert c["env"][1:] == env[1:]
    assert c["args"][:3] == args[:3] and c["args"][5] == "--image-tag=x"
    assert c["args"][3] == "m.io/k/argoproj/argoexec:v3.5.14"
    assert c["args"][4] == "--acme-http01-solver-image=m.io/k/jetstack/cert-manager-acmesolver:v1.16.1"
    containers_only = images.rewrite(o, lambda im: "z/z:0", config=False)["spec"]["template"]["spec"]["containers"][0]
    assert containers_only["image"] == "z/z:0" and containers_only["env"] == env


SPAWNER = """\
spawnerFormDefaults:
  # the default notebook image
  image:
    value: kubeflownotebookswg/jupyter-scipy:v1.10.0
    options:
    - kubeflownotebookswg/jupyter-scipy:v1.10.0
    - kubeflownotebookswg/jupyter-pytorch-cuda-full:v1.10.0
  imageGroupOne:
    value: kubeflownotebookswg/codeserver-python:v1.10.0
    options: [kubeflownotebookswg/codeserver-python:v1.10.0]
  imagePullPolicy:
    value: IfNotPresent
  cpu: {value: '0.5'}
"""
KATIB = """\
runtime:
  metricsCollectors:
  - kind: StdOut
    image: ghcr.io/kubeflow/katib/file-metrics-collector:v0.18.0
  suggestions:
  - algorithmName: random
    image: ghcr.io/kubeflow/katib/suggestion-hyperopt:v0.18.0
"""
TRIAL = yaml.safe_dump({"apiVersion": "batch/v1", "kind": "Job", "spec": {"template": {"spec": {"containers": [
    {"name": "training-container", "image": "docker.io/kubeflowkatib/pytorch-mnist-cpu:v0.18.0",
     "command": ["python3", "/opt/mnist.py"]}]}}}})
KSERVE = {
    "storageInitializer": json.dumps({"image": "kserve/storage-initializer:v0.15.0", "memoryRequest": "100Mi"}),
    "explainers": json.dumps({"art": {"image": "kserve/art-explainer", "defaultImageVersion": "latest"}}),
    "localModel": json.dumps({"defaultJobImage": "kserve/storage-initializer:v0.15.0", "jobNamespace": "x"}),
    "ingress": json.dumps({"ingressGateway": "kubeflow/kubeflow-gateway", "ingressDomain": "example.com"}),
}
CONFIGMAPS = [
    ("spawner", {"spawner_ui_config.yaml": SPAWNER},
     {"kubeflownotebookswg/jupyter-scipy:v1.10.0", "kubeflownotebookswg/jupyter-pytorch-cuda-full:v1.10.0",
      "kubeflownotebookswg/codeserver-python:v1.10.0"}),
    ("katib-config", {"katib-config.yaml": KATIB},
     {"ghcr.io/kubeflow/katib/file-metrics-collector:v0.18.0", "ghcr.io/kubeflow/katib/suggestion-hyperopt:v0.18.0"}),
    ("trial-template", {"defaultTrialTemplate.yaml": TRIAL}, {"docker.io/kubeflowkatib/pytorch-mnist-cpu:v0.18.0"}),
    ("kserve-config", KSERVE, {"kserve/storage-initializer:v0.15.0", "kserve/art-explainer:latest"}),
    ("plain-key", {"cacheImage": "registry.k8s.io/busybox", "appName": "pipeline/x:1"}, {"registry.k8s.io/busybox"}),
    ("plain-word-not-an-image", {"proxyImage": "proxyv2", "imageTag": "v1.10.0", "imagePullPolicy": "IfNotPresent"}, set()),
]


@pytest.mark.parametrize("data,want", [r[1:] for r in CONFIGMAPS], ids=[r[0] for r in CONFIGMAPS])
def test_configmap_images_found_and_rewritten_in_place(data: dict[str, str], want: set[str]) -> None:
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": data}
    assert {u.image for u in images.find(cm)} == want
    assert all(u.in_config for u in images.find(cm))
    out = images.rewrite(cm, lambda im: images.mirror(im, "m.io/k"))
    assert {u.image for u in images.find(out)} == {images.mirror(i, "m.io/k") for i in want}
    written = {u.text for u in images.find(cm)}
    for key, text in data.items():  # only the references changed: comments and layout stay
        restored = out["data"][key]
        for image in written:
            restored = restored.replace(images.mirror(image, "m.io/k"), image)
        assert restored == text


def test_sibling_tags_complete_images_written_without_one() -> None:
    data = {"FRONTEND_IMAGE": "ghcr.io/kubeflow/kfp-frontend", "KFP_VERSION": "2.5.0",
            "VISUALIZATION_SERVER_IMAGE": "ghcr.io/kubeflow/kfp-visualization-server",
            "VISUALIZATION_SERVER_TAG": "2.4.1"}
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": data}
    assert {u.image for u in images.find(cm)} == {"ghcr.io/kubeflow/kfp-frontend:2.5.0",
                                                  "ghcr.io/kubeflow/kfp-visualization-server:2.4.1"}
    out = images.rewrite(cm, lambda im: images.mirror(im, "m.io"))["data"]
    assert out == {**data, "FRONTEND_IMAGE": "m.io/kubeflow/kfp-frontend",
                   "VISUALIZATION_SERVER_IMAGE": "m.io/kubeflow/kfp-visualization-server"}


ISTIO_VALUES = json.dumps({"global": {"hub": "gcr.io/istio-release", "tag": "1.26.1",
                                      "proxy": {"image": "proxyv2"}}, "pilot": {"hub": "", "image": "pilot"}},
                          indent=2)


def test_registry_prefix_is_rewritten_but_not_listed() -> None:
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "istio-sidecar-injector"},
          "data": {"values": ISTIO_VALUES, "config": "policy: enabled"}}
    assert images.find(cm) == []
    out = json.loads(images.rewrite(cm, lambda im: images.mirror(im, "m.io/k"))["data"]["values"])
    assert out["global"]["hub"] == "m.io/k/istio-release"
    assert out["pilot"] == {"hub": "", "image": "pilot"} and out["global"]["proxy"] == {"image": "proxyv2"}


def test_knative_examples_are_left_alone() -> None:
    example = "# queue-sidecar-image: gcr.io/knative-releases/queue:v1\nqueue-sidecar-image: gcr.io/k/q:v1\n"
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "config-deployment"},
          "data": {"_example": example, "queue-sidecar-image": "gcr.io/knative-releases/queue:v2"}}
    out = images.rewrite(cm, lambda im: images.mirror(im, "m.io"))["data"]
    assert out == {"_example": example, "queue-sidecar-image": "m.io/knative-releases/queue:v2"}


def test_secrets_and_crds_are_not_searched() -> None:
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "stringData": {"image": "a/b:1"}}
    crd = {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition", "metadata": {"name": "c"},
           "spec": {"containers": [{"name": "x", "image": "a/b:1"}]}}
    assert images.find(secret) == [] and images.find(crd) == []
    assert images.rewrite(secret, lambda im: "z/z:0") == secret


def test_override_from_a_kustomize_entry_applies_to_containers_only() -> None:
    o = ImageOverride.from_entry({"name": "ghcr.io/kubeflow/kfp-api-server", "newTag": "2.5.1"})
    dep = obj("Deployment", {"template": {"spec": pod_spec(
        "ghcr.io/kubeflow/kfp-api-server:2.5.0", env=[{"name": "X_IMAGE", "value": "ghcr.io/kubeflow/kfp-api-server:2.5.0"}])}})
    c = images.rewrite(dep, lambda im: images.override(im, [o]), config=False)["spec"]["template"]["spec"]["containers"][0]
    assert c["image"] == "ghcr.io/kubeflow/kfp-api-server:2.5.1"
    assert c["env"][0]["value"] == "ghcr.io/kubeflow/kfp-api-server:2.5.0"


# --- the render step and the images verb, over the real library ------------------------------

def library_spec(tmp_path: Any, registry: str | None) -> Any:
    from pathlib import Path

    from kfdeploy.spec import load_spec
    doc = yaml.safe_load((Path(__file__).resolve().parents[2] / "kfdef.yaml").read_text())
    if registry:
        doc["spec"]["imageRegistry"] = registry
    path = tmp_path / "kfdef.yaml"
    path.write_text(yaml.safe_dump(doc))
    return load_spec(path)


def test_image_registry_moves_every_image_of_every_application(tmp_path: Any) -> None:
    from kfdeploy.render import render
    plain = render(library_spec(tmp_path, None))
    moved = render(library_spec(tmp_path, "registry.corp.example/kf"))
    before = {u.image for o in plain.objects for u in images.find(o)}
    after = {u.image for o in moved.objects for u in images.find(o)}
    assert any(not u.in_config for o in plain.objects for u in images.find(o))
    assert any(u.in_config for o in plain.objects for u in images.find(o))
    assert after == {images.mirror(i, "registry.corp.example/kf") for i in before}
    assert all(i.startswith("registry.corp.example/kf/") for i in after)
    assert [len(a.objects) for a in moved.applications] == [len(a.objects) for a in plain.applications]


def test_images_verb_lists_sources_and_mirror_pairs(tmp_path: Any) -> None:
    from click.testing import CliRunner

    from kfdeploy.cli import cli
    library_spec(tmp_path, "registry.corp.example/kf")
    spec_file = str(tmp_path / "kfdef.yaml")
    listed = CliRunner().invoke(cli, ["images", "-f", spec_file, "-o", "json"])
    assert listed.exit_code == 0, listed.output
    data = json.loads(listed.output)["images"]
    assert data and all(not d["image"].startswith("registry.corp.example") for d in data)
    assert all(d["mirror"] == images.mirror(d["image"], "registry.corp.example/kf") for d in data)
    assert len({d["image"] for d in data}) == len(data)
    pairs = CliRunner().invoke(cli, ["images", "-f", spec_file, "--registry", "m.io:5000/x"])
    lines = pairs.output.splitlines()
    assert len(lines) == len(data)
    assert all(line.startswith("crane copy ") and line.split()[3].startswith("m.io:5000/x/") for line in lines)
    assert {line.split()[2] for line in lines} == {images.expand(d["image"]) for d in data}
    bad = CliRunner().invoke(cli, ["images", "-f", spec_file, "--registry", "https://m.io"])
    assert bad.exit_code == 3 and "registry host" in bad.output


@pytest.mark.parametrize("value", ["https://reg.corp", "reg.corp/Kubeflow", "reg corp", ""])
def test_image_registry_must_be_host_and_path(tmp_path: Any, value: str) -> None:
    from kfdeploy.errors import SpecError
    from kfdeploy.spec import parse_spec
    doc = {"apiVersion": "kfdef.apps.kubeflow.org/v1", "kind": "KfDef", "metadata": {"name": "x"},
           "spec": {"platform": {"kind": "kwok"}, "imageRegistry": value}}
    with pytest.raises(SpecError, match=r"spec\.imageRegistry.*registry host"):
        parse_spec(doc, "kfdef.yaml", tmp_path)


def test_an_image_field_of_a_custom_resource_is_found_once() -> None:
    cached = {"apiVersion": "caching.internal.knative.dev/v1alpha1", "kind": "Image",
              "metadata": {"name": "queue-proxy", "namespace": "knative-serving"},
              "spec": {"image": f"gcr.io/knative-releases/knative.dev/serving/cmd/queue@{DIGEST}"}}
    assert [(u.image, u.field) for u in images.find(cached)] == [(cached["spec"]["image"], ".spec.image")]
    out = images.rewrite(cached, lambda im: images.mirror(im, "m.io"))
    assert out["spec"]["image"] == f"m.io/knative-releases/knative.dev/serving/cmd/queue@{DIGEST}"
    dep = WORKLOADS[0][1]
    assert len(images.find(dep)) == 2  # a container's image is not counted again as a field
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"image": "a/b:1"}}
    assert len(images.find(cm)) == 1


def test_image_registry_moves_kustomize_images_after_their_overrides(tmp_path: Any,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from test_kustomize import REPOS, V1_APPS, kubectl_found, release_spec
    from test_render import write_library

    from kfdeploy.render import render
    if not kubectl_found():
        pytest.skip("kubectl is not built yet (run `make tools`)")
    monkeypatch.setenv("KFDEPLOY_REPO_CACHE", str(tmp_path / "cache"))
    lib = write_library(tmp_path / "lib", {"unused": []})
    apps = [{**a, "images": [{"name": "registry.example/trainer/manager", "newTag": "v1.1.0"}]}
            if a["name"] == "trainer" else a for a in V1_APPS]
    plain = release_spec(str(REPOS / "release-v1"), apps)
    moved = plain.model_copy(update={"spec": plain.spec.model_copy(update={"image_registry": "mirror.corp/kf"})})
    before = {u.image for o in render(plain, lib).objects for u in images.find(o)}
    after = {u.image for o in render(moved, lib).objects for u in images.find(o)}
    assert "registry.example/trainer/manager:v1.1.0" in before  # the application's override applied first
    assert after == {images.mirror(i, "mirror.corp/kf") for i in before}
    assert "mirror.corp/kf/trainer/manager:v1.1.0" in after
