"""Security properties of the built-in library, rendered whole on every platform: what the API
server and the network enforce on a real cluster (and the PodSecurity admission on kwok too)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

from kfdeploy.library import Library, default_root
from kfdeploy.preflight.pod_security import LEVELS, containers, violations
from kfdeploy.render import render
from kfdeploy.spec import KfDef

REPO = Path(__file__).resolve().parents[2]
ROOT = default_root()
COMPONENTS = sorted(d.name for d in (ROOT / "jsonnet" / "components").iterdir() if (d / "main.jsonnet").exists())
PLATFORMS = ["kwok", "gke", "eks", "kind", "minikube", "existing"]
SETTINGS = {"gke": {"project": "p", "location": "us-central1-a"}, "eks": {"region": "us-east-1"},
            "existing": {"context": "unused"}}
PSS_LABEL = "pod-security.kubernetes.io/enforce"
Obj = dict[str, Any]


@pytest.fixture(scope="module")
def library() -> Library:
    return Library.load(ROOT)


def platform_objects(library: Library, platform: str, params: Mapping[str, Any] | None = None) -> list[Obj]:
    """Every library component on ``platform``, with ``params`` for all of them ("*")."""
    doc = {"apiVersion": "kfdef.apps.kubeflow.org/v1", "kind": "KfDef", "metadata": {"name": "sec"},
           "spec": {"platform": {"kind": platform, **({platform: SETTINGS[platform]} if platform in SETTINGS else {})},
                    "params": {"*": dict(params or {})},
                    "applications": [{"name": c} for c in COMPONENTS]}}
    return render(KfDef.model_validate(doc).with_origin("kfdef.yaml", REPO), library).objects


def pod_specs(objects: list[Obj]) -> Iterator[tuple[Obj, Mapping[str, Any]]]:
    for o in objects:
        spec = o.get("spec") or {}
        if o["kind"] in ("Deployment", "StatefulSet", "DaemonSet", "Job", "ReplicaSet"):
            yield o, spec["template"]["spec"]
        elif o["kind"] == "CronJob":
            yield o, spec["jobTemplate"]["spec"]["template"]["spec"]


def where(o: Obj) -> str:
    return f"{o['kind']} {o['metadata'].get('namespace', '')}/{o['metadata']['name']}"


VARIANTS = [(p, {}) for p in PLATFORMS] + [("gke", {"istioCni": False})]


@pytest.mark.parametrize("platform,params", VARIANTS, ids=[p + ("-no-cni" if v else "") for p, v in VARIANTS])
def test_pods_meet_their_namespace_pod_security(library: Library, platform: str, params: Mapping[str, Any]) -> None:
    objects = platform_objects(library, platform, params)
    levels = {o["metadata"]["name"]: (o["metadata"].get("labels") or {}).get(PSS_LABEL)
              for o in objects if o["kind"] == "Namespace"}
    problems = [f"{where(o)} in a {levels[ns]} namespace: {v}"
                for o, spec in pod_specs(objects)
                for ns in [o["metadata"].get("namespace", "")] if levels.get(ns)
                for v in violations(str(levels[ns]), spec)]
    assert problems == []


# Upstream's levels (kubeflow/manifests 1.10.2): the library may be stricter, never looser.
UPSTREAM_LEVELS = {"istio-system": "restricted", "auth": "restricted", "cert-manager": "restricted",
                   "kubeflow": "baseline", "profile namespaces": "baseline"}
# Containers that cannot run hardened, and why (kube-system, outside any library namespace).
NOT_HARDENED = {
    ("kube-system", "istio-cni-node", "install-cni"):
        "installs the CNI plugin on the host and enters pod network namespaces (root, NET_ADMIN/SYS_ADMIN)",
    ("kube-system", "nvidia-device-plugin", "nvidia-device-plugin"):
        "serves its socket in the kubelet's root-owned device-plugins directory",
}


def profile_namespace_level(objects: list[Obj]) -> str | None:
    cm = [o for o in objects if o["kind"] == "ConfigMap" and o["metadata"]["name"] == "namespace-labels-data"]
    labels = yaml.safe_load(cm[0]["data"]["namespace-labels.yaml"]) if cm else {}
    return (labels or {}).get(PSS_LABEL)


@pytest.mark.parametrize("platform", PLATFORMS)
def test_every_namespace_has_a_pod_security_level_at_least_upstreams(library: Library, platform: str) -> None:
    objects = platform_objects(library, platform)
    levels = {o["metadata"]["name"]: (o["metadata"].get("labels") or {}).get(PSS_LABEL)
              for o in objects if o["kind"] == "Namespace"}
    levels["profile namespaces"] = profile_namespace_level(objects)
    assert all(level in LEVELS for level in levels.values()), levels
    looser = {ns: (level, UPSTREAM_LEVELS[ns]) for ns, level in levels.items()
              if ns in UPSTREAM_LEVELS and LEVELS.index(str(level)) < LEVELS.index(UPSTREAM_LEVELS[ns])}
    assert looser == {}


def hardening_gaps(container: Mapping[str, Any], pod: Mapping[str, Any]) -> list[str]:
    sc = container.get("securityContext") or {}
    psc = pod.get("securityContext") or {}
    gaps = []
    if sc.get("allowPrivilegeEscalation") is not False:
        gaps.append("allowPrivilegeEscalation")
    if "ALL" not in (sc.get("capabilities") or {}).get("drop", []):
        gaps.append("capabilities drop ALL")
    if not sc.get("runAsNonRoot", psc.get("runAsNonRoot")) or sc.get("runAsUser", psc.get("runAsUser")) == 0:
        gaps.append("runAsNonRoot")
    if (sc.get("seccompProfile") or psc.get("seccompProfile") or {}).get("type") != "RuntimeDefault":
        gaps.append("seccompProfile RuntimeDefault")
    if sc.get("privileged"):
        gaps.append("privileged")
    return gaps


@pytest.mark.parametrize("platform", PLATFORMS)
def test_every_container_is_hardened(library: Library, platform: str) -> None:
    objects = platform_objects(library, platform)
    gaps = {}
    for o, spec in pod_specs(objects):
        for c in containers(spec):
            key = (o["metadata"].get("namespace", ""), o["metadata"]["name"], c["name"])
            if key not in NOT_HARDENED and hardening_gaps(c, spec):
                gaps[key] = hardening_gaps(c, spec)
    assert gaps == {}
    assert sum(1 for _, spec in pod_specs(objects) for _ in containers(spec)) > 30  # the whole library


def test_exceptions_are_current(library: Library) -> None:
    """An exception for a container that no longer exists, or is hardened now, must go."""
    rendered = {(o["metadata"].get("namespace", ""), o["metadata"]["name"], c["name"]): hardening_gaps(c, spec)
                for p in PLATFORMS for o, spec in pod_specs(platform_objects(library, p)) for c in containers(spec)}
    assert {key: bool(rendered.get(key)) for key in NOT_HARDENED} == {key: True for key in NOT_HARDENED}


@pytest.mark.parametrize("platform,params", [("gke", {}), ("eks", {}), ("kwok", {}), ("gke", {"tls": True})],
                         ids=["gke", "eks", "kwok", "gke-tls"])
def test_login_cookie_is_secure_exactly_when_the_gateway_serves_https(
        library: Library, platform: str, params: Mapping[str, Any]) -> None:
    """A Secure cookie is never sent back over plain HTTP, so login over HTTP needs it off; over
    HTTPS it must be on."""
    objects = platform_objects(library, platform, params)
    gateway = [o for o in objects if o["kind"] == "Gateway" and o["metadata"]["name"] == "kubeflow-gateway"][0]
    https = any(s["port"]["protocol"] == "HTTPS" for s in gateway["spec"]["servers"])
    cfg = [o for o in objects if o["kind"] == "ConfigMap" and o["metadata"]["name"] == "oauth2-proxy"][0]
    settings = dict(line.split(" = ", 1) for line in cfg["data"]["oauth2_proxy.cfg"].splitlines() if " = " in line)
    assert settings["cookie_secure"] == ("true" if https else "false")
    assert https is bool(params.get("tls"))
