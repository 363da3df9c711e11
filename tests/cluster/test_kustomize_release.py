"""A manifests release installed as kustomize applications, then upgraded by editing the spec.

The fixture releases (tests/fixtures/repos) carry upstream's hard patterns: selectors on
``app.kubernetes.io/component``, a ``Fail`` webhook whose backend ships in the same release, CRDs
with their custom resources (one used by another application), ``vars``/``replacements``, a
generated ConfigMap. v1 is applied from a folder; v2 from a ``.tar.gz`` with a top-level folder,
with the trainer's path renamed, Deployments and a PVC-backed store removed, and a CRD version
added. The pipeline carries every customization (replicas, images, a JSON 6902 patch with a
label-selector target, postRender) across the upgrade. The plan must say per application what
is created, updated and deleted; prune must keep the PVC and say so; everything ends Healthy.
"""

from __future__ import annotations

import shutil
import tarfile
import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client

from .conftest import cli_json

REPOS = Path(__file__).resolve().parents[1] / "fixtures" / "repos"


def release_copy(src: Path, dest: Path, namespace: str) -> Path:
    """The fixture release with its platform namespace renamed, so runs never share objects."""
    shutil.copytree(src, dest)
    for f in dest.rglob("*.yaml"):
        f.write_text(f.read_text().replace("kubeflow", namespace))
    return dest


def applications(trainer_path: str, namespace: str) -> list[dict[str, Any]]:
    return [
        {"name": "platform-namespace", "kustomize": {"repo": "release", "path": "common/namespace"}},
        {"name": "certs", "kustomize": {"repo": "release", "path": "common/certs/base"}},
        {"name": "issuer", "kustomize": {"repo": "release", "path": "common/certs/issuer"},
         "dependsOn": ["certs", "platform-namespace"]},
        {"name": "pipeline", "kustomize": {"repo": "release", "path": "apps/pipeline/upstream"},
         "dependsOn": ["platform-namespace", "certs"],
         "replicas": [{"name": "ml-pipeline", "count": 2}],
         "images": [{"name": "registry.example/pipeline/api-server", "newName": "mirror.example/api-server"}],
         "patches": [{"target": {"kind": "Service", "labelSelector": "!app"},
                      "patch": [{"op": "add", "path": "/metadata/annotations", "value": {"patched": "yes"}}]}],
         "postRender": "team.jsonnet", "params": {"team": "ml"}},
        {"name": "trainer", "kustomize": {"repo": "release", "path": trainer_path},
         "dependsOn": ["platform-namespace"]},
    ]


POST_RENDER = """function(objects, params) [
  o + (if o.kind == 'Deployment' then { metadata+: { labels+: { team: params.team } } } else {})
  for o in objects
]
"""


def write_spec(path: Path, name: str, namespace: str, uri: str, trainer_path: str) -> None:
    (path.parent / "team.jsonnet").write_text(POST_RENDER)
    spec = {"apiVersion": "kfdef.apps.kubeflow.org/v1", "kind": "KfDef",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {"platform": {"kind": "kwok"}, "repos": [{"name": "release", "uri": uri}],
                     "applications": applications(trainer_path, namespace)}}
    path.write_text(yaml.safe_dump(spec, sort_keys=False))


run = cli_json


def actions(plan: dict[str, Any]) -> dict[str, set[tuple[str, str]]]:
    """application -> {(action, object)} of a plan's JSON."""
    return {a["name"]: {(c["action"], c["object"]) for c in a["changes"]} for a in plan["applications"]}


def healthy(cluster: Any, spec: Path) -> dict[str, str]:
    code, data, err = run(cluster, "status", "-f", str(spec))
    assert data is not None, err
    return {c["name"]: c["health"] for c in data["components"]}


def test_release_install_then_upgrade_by_spec_edit(cluster: Any, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KFDEPLOY_REPO_CACHE", str(tmp_path / "cache"))
    ns = f"kf-{uuid.uuid4().hex[:6]}"
    v1 = release_copy(REPOS / "release-v1", tmp_path / "v1", ns)
    spec = tmp_path / "kfdef.yaml"
    write_spec(spec, f"rel-{ns}", ns, str(v1), "apps/trainer")

    code, data, err = run(cluster, "apply", "-f", str(spec), "--yes")
    assert code == 0, err
    apps = [a["name"] for a in data["applications"]]
    assert apps.index("certs") < apps.index("issuer")
    assert set(healthy(cluster, spec).values()) == {"Healthy"}

    apps_api = client.AppsV1Api(cluster.api)
    controller = apps_api.read_namespaced_deployment("certs-controller", "certs")
    assert controller.spec.selector.match_labels["app.kubernetes.io/component"] == "controller"
    assert controller.spec.template.metadata.labels["app.kubernetes.io/component"] == "controller"

    api = apps_api.read_namespaced_deployment("ml-pipeline", ns)
    assert api.spec.replicas == 2 and api.metadata.labels["team"] == "ml"  # replicas, postRender
    assert api.spec.template.spec.containers[0].image == "mirror.example/api-server:2.0.0"
    service = client.CoreV1Api(cluster.api).read_namespaced_service("ml-pipeline", ns)
    assert service.metadata.annotations["patched"] == "yes"

    code, data, err = run(cluster, "plan", "-f", str(spec))
    assert code == 0 and not data["changes"], data  # a re-apply is a no-op

    # v2 from an archive with a top-level folder; the trainer moved in the release.
    v2 = release_copy(REPOS / "release-v2", tmp_path / "v2" / "release-2.0", ns)
    archive = tmp_path / "release-2.0.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(v2, arcname="release-2.0")
    write_spec(spec, f"rel-{ns}", ns, str(archive), "apps/training/trainer")

    code, plan, err = run(cluster, "plan", "-f", str(spec))
    assert code == 2, err
    changes = actions(plan)
    pipeline = changes["pipeline"]
    assert ("create", f"Deployment/{ns}/metadata-writer") in pipeline
    assert ("update", f"Deployment/{ns}/ml-pipeline") in pipeline
    assert ("delete", f"Deployment/{ns}/ml-pipeline-ui") in pipeline
    assert ("delete", f"Deployment/{ns}/minio") in pipeline
    assert any(a == "keep" and o == f"PersistentVolumeClaim/{ns}/minio-pvc" for a, o in pipeline)
    assert ("update", "CustomResourceDefinition/trainingruntimes.trainer.example.io") \
        in changes["trainer"]
    assert ("update", "Deployment/certs/certs-controller") in changes["certs"]
    assert not changes["issuer"] and not changes["platform-namespace"]

    code, data, err = run(cluster, "apply", "-f", str(spec), "--yes")
    assert code == 0, err
    [pipeline_result] = [a for a in data["applications"] if a["name"] == "pipeline"]
    assert any("minio-pvc" in k["object"] for k in pipeline_result.get("kept", [])), pipeline_result
    core = client.CoreV1Api(cluster.api)
    assert core.read_namespaced_persistent_volume_claim("minio-pvc", ns).metadata.name == "minio-pvc"
    names = {d.metadata.name for d in apps_api.list_namespaced_deployment(ns).items}
    assert {"ml-pipeline", "metadata-writer", "trainer-controller-manager"} <= names
    assert not names & {"ml-pipeline-ui", "minio"}
    api = apps_api.read_namespaced_deployment("ml-pipeline", ns)
    assert api.spec.template.spec.containers[0].image == "mirror.example/api-server:2.1.0"  # v2 tag, our name
    assert api.spec.replicas == 2
    crd = client.ApiextensionsV1Api(cluster.api).read_custom_resource_definition(
        "trainingruntimes.trainer.example.io")
    assert {v.name for v in crd.spec.versions} == {"v1", "v1alpha1"}
    assert set(healthy(cluster, spec).values()) == {"Healthy"}
    code, data, err = run(cluster, "plan", "-f", str(spec))
    assert code == 0 and not data["changes"], data

    code, _, err = run(cluster, "delete", "-f", str(spec), "--yes")
    assert code == 0, err
