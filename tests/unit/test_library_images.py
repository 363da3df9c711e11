"""Images and start-up arguments of the built-in library, which kwok never pulls nor runs.

An image name that was never published, or a flag the server reads differently, only shows on a
real cluster (ImagePullBackOff, or a container that exits at start). The facts below come from the
components' own sources and registries at the release the library pins; the library is rendered on
every platform and its every image reference (containers and configuration alike) is checked.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from kfdeploy.library import Library, default_root
from kfdeploy.render import images, render
from kfdeploy.spec import KfDef

REPO = Path(__file__).resolve().parents[2]
ROOT = default_root()
COMPONENTS = sorted(d.name for d in (ROOT / "jsonnet" / "components").iterdir() if (d / "main.jsonnet").exists())
Obj = dict[str, Any]

# Image names that do not exist at the versions the library pins, and why.
KNOWN_BAD = {
    "ghcr.io/kubeflow/kubeflow/centraldashboard": "the dashboard is published as central-dashboard",
    "docker.io/kubeflow/training-operator": "Kubeflow 1.10.2 runs ghcr.io/kubeflow/training-v1/training-operator",
    "ghcr.io/kubeflow/katib/mxnet-mnist": "katib 0.17 dropped the MXNet examples",
    "docker.io/kubeflowkatib/mxnet-mnist": "katib 0.17 dropped the MXNet examples",
}

# How servers that take a serving certificate find its files: (flag, default) for cert and key,
# and the directory a bare file name is joined onto (None: the flag is a full path).
TLS_READERS: Mapping[str, tuple[tuple[str, str], tuple[str, str], str | None]] = {
    # kubeflow/kubeflow components/admission-webhook main.go (v1.10.0)
    "ghcr.io/kubeflow/kubeflow/poddefaults-webhook": (
        ("--tlsCertFile", "/etc/webhook/certs/cert.pem"), ("--tlsKeyFile", "/etc/webhook/certs/key.pem"), None),
    # kubeflow/pipelines backend/src/cache/main.go (2.5.0): filepath.Join(TLSDir, name)
    "ghcr.io/kubeflow/kfp-cache-server": (
        ("--tls_cert_filename", "cert.pem"), ("--tls_key_filename", "key.pem"), "/etc/webhook/certs"),
}
CERT_MANAGER_KEYS = {"tls.crt", "tls.key", "ca.crt"}
# Untagged exactly as upstream ships them.
UNPINNED_UPSTREAM = {"registry.k8s.io/busybox": "KFP's cacheImage in pipeline-install-config"}


@pytest.fixture(scope="module")
def library() -> Library:
    return Library.load(ROOT)


def platform_objects(library: Library, platform: str) -> list[Obj]:
    settings = {"gke": {"project": "p", "location": "us-central1-a"}, "eks": {"region": "us-east-1"},
                "existing": {"context": "unused"}}
    doc = {"apiVersion": "kfdef.apps.kubeflow.org/v1", "kind": "KfDef", "metadata": {"name": "img"},
           "spec": {"platform": {"kind": platform, **({platform: settings[platform]} if platform in settings else {})},
                    "applications": [{"name": c} for c in COMPONENTS]}}
    return render(KfDef.model_validate(doc).with_origin("kfdef.yaml", REPO), library).objects


@pytest.mark.parametrize("platform", ["kwok", "gke", "eks", "existing"])
def test_no_image_is_a_known_bad_name(library: Library, platform: str) -> None:
    objects = platform_objects(library, platform)
    used = {(images.parse(u.image).expanded().name, o["kind"] + "/" + o["metadata"]["name"])
            for o in objects for u in images.find(o)}
    bad = {name: (where, KNOWN_BAD[name]) for name, where in used if name in KNOWN_BAD}
    assert bad == {}
    assert len(used) > 40  # configuration values are searched too, not only containers


@pytest.mark.parametrize("platform", ["kwok", "gke"])
def test_every_image_is_pinned(library: Library, platform: str) -> None:
    """A floating tag makes two installs of one spec run different code."""
    floating = {u.image for o in platform_objects(library, platform) for u in images.find(o)
                if images.parse(u.image).tag in ("", "latest") and not images.parse(u.image).digest
                and u.image not in UNPINNED_UPSTREAM}
    assert floating == set()


def containers_with_volumes(objects: list[Obj]) -> list[tuple[Obj, Obj, dict[str, Obj]]]:
    out = []
    for o in objects:
        if o["kind"] in ("Deployment", "StatefulSet", "DaemonSet"):
            spec = o["spec"]["template"]["spec"]
            volumes = {v["name"]: v for v in spec.get("volumes", [])}
            out += [(o, c, volumes) for c in spec["containers"]]
    return out


def flag_value(args: list[str], flag: str) -> str | None:
    for i, a in enumerate(args):
        if a.startswith(flag + "="):
            return a.split("=", 1)[1]
        if a == flag and i + 1 < len(args):
            return args[i + 1]
    return None


def certificate_secrets(objects: list[Obj]) -> set[str]:
    return {o["spec"]["secretName"] for o in objects if o["kind"] == "Certificate"}


def test_tls_servers_read_the_files_cert_manager_writes(library: Library) -> None:
    objects = platform_objects(library, "kwok")
    issued = certificate_secrets(objects)
    checked = set()
    for owner, c, volumes in containers_with_volumes(objects):
        name = images.parse(c["image"]).expanded().name
        if name not in TLS_READERS:
            continue
        cert, key, join_dir = TLS_READERS[name]
        mounted = {m["mountPath"]: volumes[m["name"]] for m in c.get("volumeMounts", [])}
        for flag, default in (cert, key):
            value = flag_value(list(c.get("args", [])), flag) or default
            path = f"{join_dir}/{value}" if join_dir else value
            directory, _, file = path.rpartition("/")
            secret = mounted.get(directory, {}).get("secret", {}).get("secretName")
            assert (secret in issued, file in CERT_MANAGER_KEYS) == (True, True), \
                f"{owner['metadata']['name']}: {flag} reads {path}, not a key of a cert-manager Secret mounted there"
        checked.add(name)
    assert checked == set(TLS_READERS)
