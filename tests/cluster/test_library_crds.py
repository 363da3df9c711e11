"""The library's typed CRD schemas on a real API server: a custom resource written by hand gets the
default its controller relies on (kwok's kube-apiserver applies structural-schema defaults as any)."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from kubernetes import client

from kfdeploy.library import default_root, load_component
from kfdeploy.render import jsonnet, process

from .conftest import eventually

pytestmark = pytest.mark.cluster
ROOT = default_root()
GROUP = "crd-defaults.test.kfdeploy.io"  # a copy under a test group: the real kserve CRD stays untouched


def library_crd(component: str, name: str) -> dict[str, Any]:
    comp = load_component(ROOT / "jsonnet" / "components" / component)
    objects = process.extract(jsonnet.evaluate(comp.main, comp.defaults(), [ROOT / "jsonnet" / "lib"]))
    return next(o for o in objects if o["kind"] == "CustomResourceDefinition" and o["metadata"]["name"] == name)


def test_hand_written_cluster_storage_container_gets_its_workload_type(cluster: Any) -> None:
    crd = copy.deepcopy(library_crd("kserve", "clusterstoragecontainers.serving.kserve.io"))
    crd["metadata"] = {"name": f"{crd['spec']['names']['plural']}.{GROUP}"}
    crd["spec"]["group"] = GROUP
    ext = client.ApiextensionsV1Api(cluster.api)
    custom = client.CustomObjectsApi(cluster.api)
    ext.create_custom_resource_definition(crd)
    try:
        eventually(lambda: ext.read_custom_resource_definition(crd["metadata"]["name"]),
                   lambda c: any(x.type == "Established" and x.status == "True" for x in c.status.conditions or []),
                   "CRD established")
        body = {"apiVersion": f"{GROUP}/v1alpha1", "kind": "ClusterStorageContainer", "metadata": {"name": "hand-written"},
                "spec": {"container": {"name": "init", "image": "example.com/init:1"},
                         "supportedUriFormats": [{"prefix": "s3://"}]}}
        def create() -> Any:
            try:
                return custom.create_cluster_custom_object(GROUP, "v1alpha1", "clusterstoragecontainers", body)
            except client.ApiException as e:
                if e.status == 404:  # the new resource is not served yet
                    return None
                raise

        created = eventually(create, lambda c: c is not None, "custom resource created")
        assert created["spec"]["workloadType"] == "initContainer"
        bad = {**body, "metadata": {"name": "bad"}, "spec": {**body["spec"], "workloadType": "sidecar"}}
        with pytest.raises(client.ApiException) as err:
            custom.create_cluster_custom_object(GROUP, "v1alpha1", "clusterstoragecontainers", bad)
        assert err.value.status == 422
    finally:
        ext.delete_custom_resource_definition(crd["metadata"]["name"])
