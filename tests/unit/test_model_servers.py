"""The model-server components (tf-serving, triton) as a user configures them.

Their value is in the parameter handling: GPU counts become resource limits and tolerations,
a nodeSelector steers pods to an accelerator pool, probes hit each server's own health path,
and object names follow the model so several servers can share a namespace. These tests render
the real component folders with the library defaults plus the params under test.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from kfdeploy.errors import RenderError
from kfdeploy.library import load_component
from kfdeploy.render import jsonnet, process

Obj = dict[str, Any]

ROOT = Path(__file__).resolve().parents[2]
COMPONENTS_DIR = ROOT / "jsonnet" / "components"
JPATH = [ROOT / "jsonnet" / "lib"]
GPU_TOLERATION = {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}

# component -> (object name for modelName "resnet", readiness path, liveness path, {port name: port})
SERVERS: dict[str, tuple[str, str, str, dict[str, int]]] = {
    "tf-serving": ("tf-serving-resnet", "/v1/models/resnet", "/v1/models/resnet",
                   {"grpc": 8500, "http": 8501}),
    "triton": ("triton-resnet", "/v2/health/ready", "/v2/health/live",
               {"http": 8000, "grpc": 8001, "metrics": 8002}),
}


def render(component: str, **overrides: Any) -> list[Obj]:
    """The component's objects with its defaults, modelName resnet, and ``overrides``."""
    comp = load_component(COMPONENTS_DIR / component)
    params = comp.defaults() | {"modelName": "resnet"} | overrides
    return process.extract(jsonnet.evaluate(comp.main, params, JPATH))


def one(objects: list[Obj], kind: str) -> Obj:
    found = [o for o in objects if o["kind"] == kind]
    assert len(found) == 1, f"expected one {kind}, got {[o['metadata']['name'] for o in found]}"
    return found[0]


def pod_spec(objects: list[Obj]) -> Obj:
    return one(objects, "Deployment")["spec"]["template"]["spec"]


def container(objects: list[Obj]) -> Obj:
    containers = pod_spec(objects)["containers"]
    assert len(containers) == 1
    return containers[0]


@pytest.mark.parametrize("component", SERVERS, ids=list(SERVERS))
def test_cpu_server_has_no_gpu_scheduling(component: str) -> None:
    objects = render(component, gpus=0)
    spec = pod_spec(objects)
    assert "nvidia.com/gpu" not in container(objects)["resources"].get("limits", {})
    assert "tolerations" not in spec
    assert "nodeSelector" not in spec


@pytest.mark.parametrize("component", SERVERS, ids=list(SERVERS))
def test_gpu_server_requests_gpus_and_tolerates_gpu_nodes(component: str) -> None:
    selector = {"cloud.google.com/gke-accelerator": "nvidia-tesla-t4"}
    objects = render(component, gpus=2, nodeSelector=selector)
    spec = pod_spec(objects)
    assert container(objects)["resources"]["limits"]["nvidia.com/gpu"] == 2
    assert spec["tolerations"] == [GPU_TOLERATION]
    assert spec["nodeSelector"] == selector


@pytest.mark.parametrize("component", SERVERS, ids=list(SERVERS))
def test_node_selector_applies_without_gpus(component: str) -> None:
    spec = pod_spec(render(component, gpus=0, nodeSelector={"pool": "inference"}))
    assert spec["nodeSelector"] == {"pool": "inference"}
    assert "tolerations" not in spec


@pytest.mark.parametrize(
    "gpus,image",
    [(0, "tensorflow/serving:2.17.0"), (2, "tensorflow/serving:2.17.0-gpu")],
    ids=["cpu-image", "gpu-image"],
)
def test_tf_serving_picks_the_gpu_image_with_gpus(gpus: int, image: str) -> None:
    assert container(render("tf-serving", gpus=gpus))["image"] == image


@pytest.mark.parametrize("gpus", [0, 2], ids=["cpu", "gpu"])
@pytest.mark.parametrize("component", SERVERS, ids=list(SERVERS))
def test_probes_hit_the_server_health_paths(component: str, gpus: int) -> None:
    _, ready_path, live_path, _ = SERVERS[component]
    c = container(render(component, gpus=gpus))
    assert c["readinessProbe"]["httpGet"] == {"path": ready_path, "port": "http"}
    assert c["livenessProbe"]["httpGet"] == {"path": live_path, "port": "http"}
    assert "http" in {p["name"] for p in c["ports"]}


@pytest.mark.parametrize("component", SERVERS, ids=list(SERVERS))
def test_service_exposes_rest_and_grpc_on_the_container_ports(component: str) -> None:
    name, _, _, ports = SERVERS[component]
    objects = render(component)
    service = one(objects, "Service")
    container_ports = {p["name"]: p["containerPort"] for p in container(objects)["ports"]}
    assert container_ports == ports
    assert {p["name"]: (p["port"], p["targetPort"]) for p in service["spec"]["ports"]} == {
        port_name: (number, port_name) for port_name, number in ports.items()
    }
    assert service["spec"]["selector"] == one(objects, "Deployment")["spec"]["selector"]["matchLabels"]
    assert service["metadata"]["name"] == name


@pytest.mark.parametrize("component", SERVERS, ids=list(SERVERS))
def test_names_derive_from_model_name(component: str) -> None:
    name = SERVERS[component][0]
    objects = render(component, hpa=True)
    assert {o["metadata"]["name"] for o in objects} == {name}
    assert one(objects, "HorizontalPodAutoscaler")["spec"]["scaleTargetRef"]["name"] == name


@pytest.mark.parametrize("component", SERVERS, ids=list(SERVERS))
def test_hpa_owns_replicas(component: str) -> None:
    without = render(component, replicas=3)
    assert one(without, "Deployment")["spec"]["replicas"] == 3
    assert not [o for o in without if o["kind"] == "HorizontalPodAutoscaler"]
    with_hpa = render(component, replicas=2, hpa=True, hpaMaxReplicas=5)
    assert "replicas" not in one(with_hpa, "Deployment")["spec"]
    hpa = one(with_hpa, "HorizontalPodAutoscaler")["spec"]
    assert (hpa["minReplicas"], hpa["maxReplicas"]) == (2, 5)


@pytest.mark.parametrize("component", SERVERS, ids=list(SERVERS))
@pytest.mark.parametrize("model_name", ["Bad_Name", "-edge", ""], ids=["uppercase", "leading-dash", "empty"])
def test_model_name_must_be_a_dns_label(component: str, model_name: str) -> None:
    with pytest.raises(RenderError, match="modelName"):
        render(component, modelName=model_name)
