"""The built-in library's Istio mesh, read as istio-agent and envoy would on a real cluster.

kwok never starts a proxy, so a sidecar template without the agent's token or root certificate
looks healthy there and leaves every injected pod NotReady on GKE or EKS. These tests render the
library per platform and check what the agent reads at start (the paths below are istio-agent's,
not the library's): the injection template, the ingress gateway pod, and the traffic capture
(istio-cni on the node, or the root istio-init container when CNI is off).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

from kfdeploy.library import Library, default_root
from kfdeploy.render import render
from kfdeploy.spec import KfDef

REPO = Path(__file__).resolve().parents[2]
Obj = dict[str, Any]

# Where istio-agent looks, and what must be there (istio security/agent defaults).
TOKEN_DIR = "/var/run/secrets/tokens"          # istio-token: a projected token for audience istio-ca
ROOT_CERT_DIR = "/var/run/secrets/istio"       # root-cert.pem from istiod's ConfigMap
ENVOY_DIR = "/etc/istio/proxy"                 # bootstrap + SDS socket, shared by agent and envoy
DATA_DIR = "/var/lib/istio/data"
PODINFO_DIR = "/etc/istio/pod"                 # labels/annotations through the downward API
ISTIOD_ROOT_CERT_CONFIGMAP = "istio-ca-root-cert"  # what istiod publishes in every namespace
TOKEN_AUDIENCE = "istio-ca"
STATUS_PORT = 15021
CAPTURE_CAPABILITIES = {"NET_ADMIN", "NET_RAW"}


@pytest.fixture(scope="module")
def library() -> Library:
    return Library.load(default_root())


def istio_objects(library: Library, platform: str = "existing", params: Mapping[str, Any] | None = None) -> list[Obj]:
    settings = {"gke": {"project": "p", "location": "us-central1-a"}, "eks": {"region": "us-east-1"},
                "existing": {"context": "unused"}}
    doc = {"apiVersion": "kfdef.apps.kubeflow.org/v1", "kind": "KfDef", "metadata": {"name": "mesh"},
           "spec": {"platform": {"kind": platform, **({platform: settings[platform]} if platform in settings else {})},
                    "applications": [{"name": "istio", "params": dict(params or {})}]}}
    rendered = render(KfDef.model_validate(doc).with_origin("kfdef.yaml", REPO), library, only=["istio"])
    return rendered.applications[0].objects


def find(objects: list[Obj], kind: str, name: str) -> Obj:
    matches = [o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name]
    assert len(matches) == 1, f"{kind}/{name}: {len(matches)} rendered"
    return matches[0]


def injector(objects: list[Obj]) -> tuple[Obj, Obj]:
    """The sidecar template as YAML (template actions replaced) and the injector's values."""
    cm = find(objects, "ConfigMap", "istio-sidecar-injector")
    config = yaml.safe_load(cm["data"]["config"])
    template = config["templates"][config["defaultTemplates"][0]]
    return yaml.safe_load(re.sub(r"\{\{.*?\}\}", "TEMPLATED", template)), yaml.safe_load(cm["data"]["values"])


def proxy_of(pod_spec: Mapping[str, Any]) -> Obj:
    containers = [c for c in pod_spec.get("containers", []) + pod_spec.get("initContainers", [])
                  if c["name"] == "istio-proxy"]
    assert len(containers) == 1
    return containers[0]


def agent_problems(pod_spec: Mapping[str, Any]) -> list[str]:
    """What istio-agent and envoy would miss in this pod spec."""
    proxy = proxy_of(pod_spec)
    volumes = {v["name"]: v for v in pod_spec.get("volumes", [])}
    mounts = {m["mountPath"]: m["name"] for m in proxy.get("volumeMounts", [])}
    problems = [f"mount {m['name']} has no volume" for m in proxy.get("volumeMounts", []) if m["name"] not in volumes]
    for path in (TOKEN_DIR, ROOT_CERT_DIR, ENVOY_DIR, DATA_DIR, PODINFO_DIR):
        if path not in mounts:
            problems.append(f"nothing mounted at {path}")
    vol = lambda path: volumes.get(mounts.get(path, ""), {})  # noqa: E731
    tokens = [s["serviceAccountToken"] for s in vol(TOKEN_DIR).get("projected", {}).get("sources", [])
              if "serviceAccountToken" in s]
    if not any(t.get("audience") == TOKEN_AUDIENCE and t.get("path") == "istio-token" for t in tokens):
        problems.append(f"{TOKEN_DIR} holds no istio-token for audience {TOKEN_AUDIENCE}")
    if vol(ROOT_CERT_DIR).get("configMap", {}).get("name") != ISTIOD_ROOT_CERT_CONFIGMAP:
        problems.append(f"{ROOT_CERT_DIR} is not istiod's {ISTIOD_ROOT_CERT_CONFIGMAP}")
    if "emptyDir" not in vol(ENVOY_DIR):
        problems.append(f"{ENVOY_DIR} is not a writable emptyDir")
    fields = {i["fieldRef"]["fieldPath"] for i in vol(PODINFO_DIR).get("downwardAPI", {}).get("items", [])}
    if not {"metadata.labels", "metadata.annotations"} <= fields:
        problems.append(f"{PODINFO_DIR} lacks the pod's labels and annotations")
    if proxy.get("readinessProbe", {}).get("httpGet", {}).get("port") != STATUS_PORT:
        problems.append(f"readiness is not probed on the status port {STATUS_PORT}")
    return problems


def istiod_address(objects: list[Obj]) -> set[str]:
    svc = find(objects, "Service", "istiod")
    return {f"istiod.{svc['metadata']['namespace']}.svc:{p['port']}" for p in svc["spec"]["ports"]}


def env_of(container: Mapping[str, Any]) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container.get("env", [])}


@pytest.mark.parametrize("cni", [True, False], ids=["cni", "istio-init"])
def test_injected_pods_get_what_the_agent_needs(library: Library, cni: bool) -> None:
    objects = istio_objects(library, params={"istioCni": cni})
    template, values = injector(objects)
    assert agent_problems(template["spec"]) == []
    assert values["global"]["sds"]["token"]["aud"] == TOKEN_AUDIENCE
    assert env_of(proxy_of(template["spec"]))["CA_ADDR"] in istiod_address(objects)
    labels = template["metadata"]["labels"]
    assert {"security.istio.io/tlsMode", "service.istio.io/canonical-name",
            "service.istio.io/canonical-revision"} <= set(labels)


@pytest.mark.parametrize("cni", [True, False], ids=["cni", "istio-init"])
def test_traffic_capture_runs_before_the_proxy(library: Library, cni: bool) -> None:
    """The capture init container precedes the (native) sidecar; only istio-init needs capabilities."""
    objects = istio_objects(library, params={"istioCni": cni})
    template, _ = injector(objects)
    inits = template["spec"]["initContainers"]
    names = [c["name"] for c in inits]
    capture = inits[0]
    assert names.index(capture["name"]) < names.index("istio-proxy")
    assert capture["args"][0] == "istio-iptables"
    added = set(capture["securityContext"].get("capabilities", {}).get("add", []))
    daemonsets = [o for o in objects if o["kind"] == "DaemonSet"]
    if cni:
        assert ("--run-validation" in capture["args"], added, capture["securityContext"]["runAsNonRoot"]) == (True, set(), True)
        assert [d["metadata"]["name"] for d in daemonsets] == ["istio-cni-node"]
    else:
        assert added >= CAPTURE_CAPABILITIES and "--run-validation" not in capture["args"]
        assert daemonsets == []
    # Without CNI the injected namespace must admit istio-init's capabilities.
    injected = [o for o in objects if o["kind"] == "Namespace"
                and o["metadata"]["labels"].get("istio-injection") == "enabled"]
    assert injected and all((o["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "privileged") is not cni
                            for o in injected)


def test_gateway_pod_has_the_agent_volumes(library: Library) -> None:
    objects = istio_objects(library)
    gateway = find(objects, "Deployment", "istio-ingressgateway")
    spec = gateway["spec"]["template"]["spec"]
    assert agent_problems(spec) == []
    assert env_of(proxy_of(spec))["CA_ADDR"] in istiod_address(objects)
    _, values = injector(objects)
    # Injected sidecars and the gateway run the same proxy build.
    assert proxy_of(spec)["image"] == f"{values['global']['hub']}/proxyv2:{values['global']['tag']}"


@pytest.mark.parametrize("platform,bin_dir", [("gke", "/home/kubernetes/bin"), ("eks", "/opt/cni/bin"),
                                             ("kind", "/opt/cni/bin"), ("kwok", "/opt/cni/bin")])
def test_cni_installs_into_the_platforms_bin_dir(library: Library, platform: str, bin_dir: str) -> None:
    """GKE mounts /opt/cni/bin read-only; its writable CNI directory is /home/kubernetes/bin."""
    cni = find(istio_objects(library, platform), "DaemonSet", "istio-cni-node")
    pod = cni["spec"]["template"]["spec"]
    container = pod["containers"][0]
    target = {m["name"] for m in container["volumeMounts"] if m["mountPath"] == "/host/opt/cni/bin"}
    host_paths = {v["name"]: v["hostPath"]["path"] for v in pod["volumes"] if "hostPath" in v}
    assert [host_paths[n] for n in target] == [bin_dir]
