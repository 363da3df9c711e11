"""Every validation rule of the spec, table-driven: a mutation of a valid document and the
field path plus words the resulting message must contain."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from kfdeploy.errors import SpecError
from kfdeploy.spec import parse_spec

Doc = dict[str, Any]


def base(platform: Doc | None = None) -> Doc:
    return {
        "apiVersion": "kfdef.apps.kubeflow.org/v1",
        "kind": "KfDef",
        "metadata": {"name": "demo"},
        "spec": {
            "platform": platform or {"kind": "gke", "gke": {
                "project": "p", "location": "us-central1-a",
                "cluster": {"nodePools": [{"name": "cpu"}, {"name": "gpu"}]}}},
            "applications": [{"name": "istio"}, {"name": "pipelines"}],
        },
    }


def put(path: str, value: Any, platform: Doc | None = None) -> Callable[[], Doc]:
    """A document with ``value`` set at dotted ``path`` (list indices as numbers)."""
    def make() -> Doc:
        doc = base(platform)
        *parents, last = [int(p) if p.isdigit() else p for p in path.split(".")]
        node: Any = doc
        for p in parents:
            node = node[p]
        node[last] = copy.deepcopy(value)
        return doc
    return make


def drop(path: str, platform: Doc | None = None) -> Callable[[], Doc]:
    def make() -> Doc:
        doc = base(platform)
        *parents, last = [int(p) if p.isdigit() else p for p in path.split(".")]
        node: Any = doc
        for p in parents:
            node = node[p]
        del node[last]
        return doc
    return make


EKS = {"kind": "eks", "eks": {"region": "us-west-2", "cluster": {"nodeGroups": [{"name": "cpu"}]}}}
KWOK = {"kind": "kwok", "kwok": {"nodePools": [{"name": "cpu"}]}}
GPU_POOL = "spec.platform.gke.cluster.nodePools.1"

CASES: list[tuple[str, Callable[[], Doc], str, list[str]]] = [
    ("wrong-apiversion", put("apiVersion", "kfdef.apps.kubeflow.org/v1beta1"), "apiVersion",
     ["found string 'kfdef.apps.kubeflow.org/v1beta1'", "allowed: kfdef.apps.kubeflow.org/v1"]),
    ("wrong-kind", put("kind", "KfDefs"), "kind", ["allowed: KfDef", "did you mean 'KfDef'"]),
    ("missing-name", drop("metadata.name"), "metadata.name", ["required field is missing"]),
    ("name-not-dns", put("metadata.name", "My_Cluster"), "metadata.name", ["DNS-1123 label"]),
    ("name-too-long", put("metadata.name", "a" * 64), "metadata.name", ["at most 63"]),
    ("unknown-top-field", put("specs", {}), "specs", ["unknown field 'specs'", "did you mean 'spec'"]),
    ("snake-case-key", put("spec.platform.gke.cluster.node_pools", []),
     "spec.platform.gke.cluster.node_pools", ["did you mean 'nodePools'"]),
    ("typo-key-case", put(f"{GPU_POOL}.machinetype", "n1"),
     "spec.platform.gke.cluster.nodePools[1].machinetype", ["did you mean 'machineType'"]),
    ("platform-kind-typo", put("spec.platform.kind", "gek"), "spec.platform.kind",
     ["found string 'gek'", "allowed: gke, eks, kind, minikube, kwok, existing",
      "did you mean 'gke'"]),
    ("platform-kind-missing", drop("spec.platform.kind"), "spec.platform.kind", ["missing"]),
    ("gke-missing-project", drop("spec.platform.gke.project"), "spec.platform.gke.project",
     ["required field is missing", "project"]),
    ("gke-missing-location", drop("spec.platform.gke.location"), "spec.platform.gke.location",
     ["required field is missing"]),
    ("eks-missing-region", drop("spec.platform.eks.region", EKS), "spec.platform.eks.region",
     ["required field is missing"]),
    ("eks-bad-region", put("spec.platform.eks.region", "uswest2", EKS), "spec.platform.eks.region",
     ["found string 'uswest2'"]),
    ("existing-missing-context", put("spec.platform", {"kind": "existing", "existing": {}}),
     "spec.platform.existing.context", ["required field is missing"]),
    ("block-mismatch", put("spec.platform.kwok", {}), "spec.platform.kwok",
     ["kwok block is set but kind is 'gke'"]),
    ("block-missing", put("spec.platform", {"kind": "eks"}), "spec.platform.eks",
     ["missing", "needs the eks block", "region"]),
    ("kind-block-name", put("spec.platform", {"kind": "kind", "kind_cluster": {}}),
     "spec.platform.kind_cluster", ["did you mean 'kindCluster'"]),
    ("gke-min-gt-max", put(f"{GPU_POOL}.autoscaling", {"min": 5, "max": 2}),
     "spec.platform.gke.cluster.nodePools[1].autoscaling", ["min (5) is greater than max (2)"]),
    ("gke-negative-min", put(f"{GPU_POOL}.autoscaling", {"min": -1, "max": 2}),
     "spec.platform.gke.cluster.nodePools[1].autoscaling.min", ["found number -1", ">= 0"]),
    ("accelerator-zero", put(f"{GPU_POOL}.accelerators", [{"type": "nvidia-l4", "count": 0}]),
     "spec.platform.gke.cluster.nodePools[1].accelerators[0].count", [">= 1"]),
    ("accelerator-no-type", put(f"{GPU_POOL}.accelerators", [{"count": 1}]),
     "spec.platform.gke.cluster.nodePools[1].accelerators[0].type", ["missing"]),
    ("taint-effect-typo", put(f"{GPU_POOL}.taints", [{"key": "a", "effect": "NoSchedul"}]),
     "spec.platform.gke.cluster.nodePools[1].taints[0].effect", ["did you mean 'NoSchedule'"]),
    ("label-bool", put(f"{GPU_POOL}.labels", {"nvidia.com/gpu.present": True}),
     'spec.platform.gke.cluster.nodePools[1].labels["nvidia.com/gpu.present"]',
     ["found boolean true", "quote the value"]),
    ("label-bad-key", put(f"{GPU_POOL}.labels", {"bad key!": "x"}),
     'spec.platform.gke.cluster.nodePools[1].labels["bad key!"]', ["key:", "label or taint key"]),
    ("disk-too-small", put(f"{GPU_POOL}.diskSizeGb", 5),
     "spec.platform.gke.cluster.nodePools[1].diskSizeGb", [">= 10"]),
    ("count-as-string", put("spec.platform.kwok.nodePools.0.count", "3", KWOK),
     "spec.platform.kwok.nodePools[0].count", ["found string '3'", "expected an integer"]),
    ("kwok-negative-count", put("spec.platform.kwok.nodePools.0.count", -2, KWOK),
     "spec.platform.kwok.nodePools[0].count", ["found number -2", ">= 0"]),
    ("kwok-negative-gpus", put("spec.platform.kwok.nodePools.0.gpus", -1, KWOK),
     "spec.platform.kwok.nodePools[0].gpus", [">= 0"]),
    ("kwok-bad-quantity", put("spec.platform.kwok.nodePools.0.memory", "64 GB", KWOK),
     "spec.platform.kwok.nodePools[0].memory", ["Kubernetes quantity"]),
    ("eks-min-gt-max", put("spec.platform.eks.cluster.nodeGroups.0.scaling",
                           {"min": 3, "max": 1}, EKS),
     "spec.platform.eks.cluster.nodeGroups[0].scaling", ["min (3) is greater than max (1)"]),
    ("eks-desired-outside", put("spec.platform.eks.cluster.nodeGroups.0.scaling",
                                {"min": 1, "max": 2, "desired": 5}, EKS),
     "spec.platform.eks.cluster.nodeGroups[0].scaling", ["desired (5) must be between"]),
    ("eks-ami-typo", put("spec.platform.eks.cluster.nodeGroups.0.amiType",
                         "AL2023_x86_64_NVIDA", EKS),
     "spec.platform.eks.cluster.nodeGroups[0].amiType", ["did you mean 'AL2023_x86_64_NVIDIA'"]),
    ("eks-one-subnet", put("spec.platform.eks.cluster.vpc", {"subnetIds": ["subnet-0a1"]}, EKS),
     "spec.platform.eks.cluster.vpc.subnetIds", ["at least 2"]),
    ("duplicate-pool", put(f"{GPU_POOL}.name", "cpu"),
     "spec.platform.gke.cluster.nodePools[1].name", ["duplicate node pool name 'cpu'"]),
    ("version-float", put("spec.version", 1.1), "spec.version",
     ["found number 1.1", "expected a string", "quote"]),
    ("applications-not-list", put("spec.applications", {"name": "x"}), "spec.applications",
     ["found a mapping", "expected a list"]),
    ("application-not-mapping", put("spec.applications.0", "istio"), "spec.applications[0]",
     ["found string 'istio'", "expected a mapping"]),
    ("duplicate-application", put("spec.applications.1.name", "istio"),
     "spec.applications[1].name", ["duplicate application name 'istio'", "spec.applications[0]"]),
    ("jsonnet-and-helm", put("spec.applications.1", {"name": "pipelines", "jsonnet": {"path": "x"},
                                                     "helm": {"chart": "y"}}),
     "spec.applications[1].helm", ["both jsonnet and helm"]),
    ("helm-no-chart", put("spec.applications.1.helm", {"repo": "https://charts.example.com"}),
     "spec.applications[1].helm.chart", ["missing"]),
    ("depends-on-self", put("spec.applications.1.dependsOn", ["pipelines"]),
     "spec.applications[1].dependsOn[0]", ["depends on itself"]),
    ("params-not-mapping", put("spec.params", {"*": [1]}), 'spec.params["*"]',
     ["found a list", "expected a mapping"]),
    ("overlay-twice", put("spec.overlays", ["gpu", "gpu"]), "spec.overlays[1]",
     ["overlay 'gpu' is listed twice"]),
    ("secret-both-sources", put("spec.secrets", [{"name": "s", "secretSource": {
        "envSource": {"name": "A"}, "literalSource": {"value": "x"}}}]),
     "spec.secrets[0].secretSource", ["exactly one of envSource or literalSource"]),
    ("secret-no-source", put("spec.secrets", [{"name": "s", "secretSource": {}}]),
     "spec.secrets[0].secretSource", ["exactly one"]),
    ("secret-bad-env", put("spec.secrets", [{"name": "s", "secretSource": {
        "envSource": {"name": "1BAD"}}}]),
     "spec.secrets[0].secretSource.envSource.name", ["environment variable name"]),
    ("secret-duplicate", put("spec.secrets", [
        {"name": "s", "secretSource": {"envSource": {"name": "A"}}},
        {"name": "s", "secretSource": {"envSource": {"name": "B"}}}]),
     "spec.secrets[1].name", ["duplicate secret name 's'"]),
]


@pytest.mark.parametrize(("make", "path", "words"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_rule(make: Callable[[], Doc], path: str, words: list[str]) -> None:
    with pytest.raises(SpecError) as info:
        parse_spec(make(), "kfdef.yaml", Path("."))
    err = info.value
    assert err.exit_code == 3
    matching = [p for p in err.problems if p.startswith(path + ":") or p.startswith(path + " (")]
    assert matching, f"no problem at {path}: {err.problems}"
    for word in words:
        assert any(word in p for p in matching), f"{word!r} not in {matching}"
    assert "kfdef.yaml" in str(err)


def test_base_is_valid() -> None:
    assert parse_spec(base(), "kfdef.yaml", Path(".")).metadata.name == "demo"


def test_all_problems_reported_at_once() -> None:
    doc = base()
    doc["kind"] = "Kfdef"
    doc["spec"]["platform"]["gke"].pop("project")
    doc["spec"]["applications"].append({"name": "istio"})
    with pytest.raises(SpecError) as info:
        parse_spec(doc, "kfdef.yaml", Path("."))
    paths = [p.split(":")[0] for p in info.value.problems]
    assert paths == ["kind", "spec.platform.gke.project", "spec.applications[2].name"]
    assert str(info.value).startswith("kfdef.yaml: 3 problem(s) in the spec:")


@pytest.mark.parametrize("spec", [
    {"params": {"nvidia-device-plugin": {"failOnInitError": True}}},
    {"applications": [{"name": "istio", "dependsOn": ["nvidia-device-plugin"]}]},
], ids=["params-for-unlisted-addon", "depends-on-unlisted-addon"])
def test_library_names_are_left_to_the_renderer(spec: Doc) -> None:
    """Platform add-ons are applications the spec need not list; only the renderer knows them."""
    doc = base()
    doc["spec"].update(spec)
    parse_spec(doc, "kfdef.yaml", Path("."))


def test_python_names_are_not_accepted_in_files() -> None:
    doc = base()
    doc["api_version"] = doc.pop("apiVersion")
    with pytest.raises(SpecError) as info:
        parse_spec(doc, "kfdef.yaml", Path("."))
    assert any("did you mean 'apiVersion'" in p for p in info.value.problems)
