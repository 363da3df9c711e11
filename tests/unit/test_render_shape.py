"""Rendered objects of the wrong shape (from jsonnet, helm or a postRender) are reported with the
application, the object's index, kind and name, and the field, before any stage reads them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from kfdeploy.cli import cli
from kfdeploy.errors import EXIT_BAD_INPUT, RenderError
from kfdeploy.render import process, shape


def cm(**fields: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "n"}, **fields}


def deploy(spec: Any) -> dict[str, Any]:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"}, "spec": spec}


def crd(names: Any) -> dict[str, Any]:
    return {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": "xs.example.com"},
            "spec": {"group": "example.com", "scope": "Cluster", "names": names, "versions": []}}


TEMPLATE = {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "c", "image": "i"}]}}
CASES = [  # id, object, words the error must hold
    ("metadata-list", {"apiVersion": "v1", "kind": "Namespace", "metadata": ["x"]},
     ["object [0] (Namespace/?)", "metadata must be a mapping, got list"]),
    ("labels-string", cm(metadata={"name": "c", "labels": "app=web"}),
     ["(ConfigMap/c)", "metadata.labels must be a mapping of strings, got str"]),
    ("label-value-number", cm(metadata={"name": "c", "labels": {"tier": 1}}),
     ["metadata.labels must be a mapping of strings"]),
    ("annotations-list", cm(metadata={"name": "c", "annotations": ["a"]}), ["metadata.annotations"]),
    ("name-number", cm(metadata={"name": 5}), ["metadata.name must be a string, got int 5"]),
    ("kind-list", {"apiVersion": "v1", "kind": ["ConfigMap"], "metadata": {"name": "c"}},
     ["kind must be a string, got list"]),
    ("selector-string", deploy({"selector": "app=web", "template": TEMPLATE}),
     ["(Deployment/web)", "spec.selector must be a mapping, got str"]),
    ("spec-string", deploy("replicas: 2"), ["spec must be a mapping"]),
    ("template-labels-list", deploy({"selector": {"matchLabels": {"app": "web"}},
                                     "template": {"metadata": {"labels": ["app"]}, "spec": {}}}),
     ["spec.template.metadata.labels must be a mapping of strings"]),
    ("containers-string", deploy({"selector": {}, "template": {"spec": {"containers": "nginx"}}}),
     ["spec.template.spec.containers must be a list, got str"]),
    ("container-item-string", deploy({"selector": {}, "template": {"spec": {"containers": ["nginx"]}}}),
     ["spec.template.spec.containers[0] must be a mapping, got str"]),
    ("volumes-item-number", deploy({"template": {"spec": {"volumes": [1]}}}), ["spec.template.spec.volumes[0]"]),
    ("crd-names-kind-list", crd({"kind": ["X"], "plural": "xs"}),
     ["(CustomResourceDefinition/xs.example.com)", "spec.names.kind must be a string, got list"]),
    ("crd-names-string", crd("X"), ["spec.names must be a mapping"]),
    ("configmap-data-nested", cm(data={"a": {"b": 1}}), ["data must be a mapping of strings"]),
]


@pytest.mark.parametrize(("obj", "words"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_wrong_shape_is_named(obj: dict[str, Any], words: list[str]) -> None:
    with pytest.raises(RenderError) as err:
        process.extract([obj])
    for word in words:
        assert word in str(err.value), str(err.value)


def test_every_bad_field_of_every_object_at_once() -> None:
    good = cm()
    bad = [cm(metadata={"name": "c", "labels": "x", "annotations": "y"}), crd({"kind": 1})]
    with pytest.raises(RenderError) as err:
        process.extract([good, *bad])
    message = str(err.value)
    assert message.startswith("3 field(s) of the wrong shape")
    assert "object [1] (ConfigMap/c)" in message and "object [2] (CustomResourceDefinition/" in message


def test_objects_of_the_right_shape_pass() -> None:
    objects = [cm(data={"a": "1"}), deploy({"selector": {"matchLabels": {"app": "web"}}, "template": TEMPLATE}),
               crd({"kind": "X", "plural": "xs"})]
    assert process.extract(objects) == objects
    assert all(shape.problems(o) == [] for o in objects)


@pytest.mark.parametrize(("obj", "words"), [CASES[0][1:], CASES[12][1:], CASES[6][1:]],
                         ids=["metadata-list", "crd-names-kind-list", "selector-string"])
def test_show_and_build_name_the_application(tmp_path: Path, obj: dict[str, Any], words: list[str]) -> None:
    component = tmp_path / "components" / "bad"
    component.mkdir(parents=True)
    (component / "main.jsonnet").write_text(f"function(params) {json.dumps([obj])}\n")
    spec = tmp_path / "kfdef.yaml"
    spec.write_text(yaml.safe_dump({
        "apiVersion": "kfdef.apps.kubeflow.org/v1", "kind": "KfDef", "metadata": {"name": "t"},
        "spec": {"platform": {"kind": "existing", "existing": {"context": "x"}},
                 "applications": [{"name": "shaky", "jsonnet": {"path": "components/bad"}}]}}))
    for verb in (["show"], ["build", "-d", str(tmp_path / "out")]):
        result = CliRunner().invoke(cli, [*verb, "-f", str(spec)])
        assert result.exit_code == EXIT_BAD_INPUT, result.output
        assert "application 'shaky'" in result.stderr and "Traceback" not in result.output
        for word in words:
            assert word in result.stderr
