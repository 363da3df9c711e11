"""The KfDef model: defaults, the active platform block, application sources, secrets and
the spec hash."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from kfdeploy.errors import SpecError
from kfdeploy.spec import (
    ExistingPlatform,
    GkePlatform,
    KfDef,
    KindPlatform,
    KwokPlatform,
    MinikubePlatform,
    load_spec,
    parse_spec,
)

ROOT = Path(__file__).resolve().parents[2]


def doc(platform: dict[str, Any], **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "kfdef.apps.kubeflow.org/v1", "kind": "KfDef",
            "metadata": {"name": "demo"}, "spec": {"platform": platform, **spec}}


def parse(data: dict[str, Any]) -> KfDef:
    return parse_spec(data, "kfdef.yaml", Path("/specs"))


def test_defaults() -> None:
    spec = parse(doc({"kind": "kwok"}))
    assert spec.metadata.namespace == "kubeflow"
    assert spec.spec.version == "1.10"
    assert (spec.spec.overlays, spec.spec.params, spec.spec.secrets, spec.spec.applications) == (
        [], {}, [], [])
    assert spec.source == "kfdef.yaml" and spec.base_dir == Path("/specs")


@pytest.mark.parametrize(("platform", "expected"), [
    ({"kind": "kwok"}, KwokPlatform()),
    ({"kind": "kind"}, KindPlatform()),
    ({"kind": "kind", "kindCluster": {"gpus": 1}}, KindPlatform(gpus=1)),
    ({"kind": "minikube"}, MinikubePlatform()),
    ({"kind": "minikube", "minikube": {"cpus": 4, "memory": "8g"}},
     MinikubePlatform(cpus=4, memory="8g")),
    ({"kind": "gke", "gke": {"project": "p", "location": "l"}},
     GkePlatform(project="p", location="l")),
    ({"kind": "existing", "existing": {"context": "c"}}, ExistingPlatform(context="c")),
], ids=["kwok-default", "kind-default", "kind-block", "minikube-default", "minikube-block", "gke",
        "existing"])
def test_settings_is_the_active_block(platform: dict[str, Any], expected: Any) -> None:
    assert parse(doc(platform)).spec.platform.settings == expected


def test_gke_pool_defaults() -> None:
    spec = parse(doc({"kind": "gke", "gke": {"project": "p", "location": "l", "cluster": {
        "nodePools": [{"name": "gpu", "accelerators": [{"type": "nvidia-l4"}]}]}}}))
    pool = spec.spec.platform.settings.cluster.node_pools[0]  # type: ignore[union-attr]
    assert (pool.machine_type, pool.autoscaling.min, pool.autoscaling.max) == ("e2-standard-8", 1, 3)
    assert (pool.accelerators[0].count, pool.accelerators[0].driver_version) == (1, "default")
    assert (pool.disk_size_gb, pool.spot) == (100, False)


def test_kwok_quantities_accept_numbers() -> None:
    spec = parse(doc({"kind": "kwok", "kwok": {"nodePools": [{"name": "a", "cpu": 16,
                                                              "memory": "64Gi"}]}}))
    assert spec.spec.platform.settings.node_pools[0].cpu == "16"  # type: ignore[union-attr]


@pytest.mark.parametrize(("app", "kind"), [
    ({"name": "katib"}, "library"),
    ({"name": "mine", "jsonnet": {"path": "./c"}}, "jsonnet"),
    ({"name": "chart", "helm": {"chart": "oci://r/c", "values": {"a": 1}}}, "helm"),
], ids=["library", "jsonnet", "helm"])
def test_source_kind(app: dict[str, Any], kind: str) -> None:
    parsed = parse(doc({"kind": "kwok"}, applications=[app])).spec.applications[0]
    assert parsed.source_kind == kind
    assert parsed.enabled and parsed.depends_on is None


def test_root_kfdef() -> None:
    spec = load_spec(ROOT / "kfdef.yaml")
    assert spec.metadata.name == "kubeflow"
    pools = spec.spec.platform.settings.node_pools  # type: ignore[union-attr]
    assert [(p.name, p.count, p.cpu, p.memory, p.gpus) for p in pools] == [
        ("cpu", 3, "16", "64Gi", 0), ("gpu", 1, "16", "64Gi", 4)]
    assert str(pools[1].taints[0]) == "nvidia.com/gpu=present:NoSchedule"
    assert pools[1].labels == {"nvidia.com/gpu.present": "true"}
    assert [a.name for a in spec.spec.applications] == [
        "cert-manager", "istio", "auth", "central-dashboard", "profiles", "admission-webhook",
        "notebooks", "volumes-web-app", "tensorboards", "training-operator", "katib",
        "pipelines", "kserve", "monitoring", "nvidia-device-plugin"]
    assert spec.spec.params == {} and all(not a.params for a in spec.spec.applications)


SECRETS = [
    {"name": "env", "secretSource": {"envSource": {"name": "OIDC_SECRET"}}},
    {"name": "lit", "secretSource": {"literalSource": {"value": "hunter2"}}},
]


def test_secrets_resolve_and_mask() -> None:
    spec = parse(doc({"kind": "kwok"}, secrets=SECRETS))
    env_secret, literal = spec.spec.secrets
    assert env_secret.resolve({"OIDC_SECRET": "s3"}) == "s3"
    assert literal.resolve({}) == "hunter2"
    assert "hunter2" not in repr(spec) and "hunter2" not in str(spec)
    assert "hunter2" not in spec.model_dump_json()
    with pytest.raises(SpecError) as info:
        env_secret.resolve({})
    assert "'env'" in str(info.value) and "OIDC_SECRET" in str(info.value)


def test_spec_hash_is_canonical() -> None:
    short = parse(doc({"kind": "kwok"}))
    explicit = parse(doc({"kind": "kwok", "kwok": {"nodePools": []}}, version="1.10", params={}))
    changed = parse(doc({"kind": "kwok"}, version="1.11"))
    assert short.spec_hash() == explicit.spec_hash()
    assert short.spec_hash() != changed.spec_hash()
    assert len(short.spec_hash()) == 64


def test_spec_hash_sees_secret_literals() -> None:
    one = parse(doc({"kind": "kwok"}, secrets=SECRETS))
    other = dict(SECRETS[1], secretSource={"literalSource": {"value": "other"}})
    two = parse(doc({"kind": "kwok"}, secrets=[SECRETS[0], other]))
    assert one.spec_hash() != two.spec_hash()


def test_python_construction_by_name() -> None:
    spec = KfDef(api_version="kfdef.apps.kubeflow.org/v1", kind="KfDef",
                 metadata={"name": "x"}, spec={"platform": {"kind": "kwok"}})  # type: ignore[arg-type]
    assert spec.source == "<memory>" and spec.spec.platform.kind == "kwok"
