"""A large kustomize input shaped like the official manifests: ~700 objects, ~12 MB built.

Like upstream's ``example/``, one top-level kustomization lists an overlay per component; each
overlay sets the namespace, adds labels (never to selectors), patches Deployments (strategic
merge and JSON 6902 with a target selector) and overrides images over a base that holds large
CRDs (kserve-like schemas, as YAML), RBAC, a configMapGenerator, Services and workloads. The
output is deterministic.

    python bench/kustomize_tree.py -o DIR [--components 14]

DIR then holds ``example/`` (build it with ``kubectl kustomize DIR/example``), ``apps/`` and a
``kfdef.yaml`` with the tree as one kustomize application.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import synth
import yaml

COMPONENTS = 14
SERVICES = 7  # each with a Deployment, ServiceAccount, Role and RoleBinding
CONFIGMAPS = 6


def dump(path: Path, docs: list[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.dump_all(docs, Dumper=yaml.CSafeDumper, sort_keys=False))


def base(name: str, folder: Path, large_crds: int) -> None:
    crds = [synth.large_crd(name, i) for i in range(large_crds)] + [synth.small_crd(name, i) for i in range(2)]
    rbac, services, workloads = [], [], []
    for i in range(SERVICES):
        for kind in ("ServiceAccount", "Role", "RoleBinding"):
            rbac.append(synth.namespaced(kind, name, "placeholder", i))
        services.append(synth.namespaced("Service", name, "placeholder", i))
        workloads.append(synth.workload("Deployment", f"deployment-{i}", "placeholder", i))
    rbac += [synth.cluster_rbac(k, name, "kubeflow", i) for i in range(2)
             for k in ("ClusterRole", "ClusterRoleBinding")]
    configs = [synth.namespaced("ConfigMap", name, "placeholder", i) for i in range(CONFIGMAPS)]
    for doc in rbac + services + workloads + configs:
        doc["metadata"].pop("namespace", None)  # the overlay's namespace transformer sets it
    for sub in rbac:  # RoleBinding subjects point at the overlay's namespace
        for s in sub.get("subjects", []):
            s["namespace"] = "kubeflow"
    dump(folder / "crds.yaml", crds)
    dump(folder / "rbac.yaml", rbac)
    dump(folder / "services.yaml", services)
    dump(folder / "workloads.yaml", workloads)
    dump(folder / "config.yaml", configs)
    (folder / "params.env").write_text("".join(f"SETTING_{i}=value-{name}-{i}\n" for i in range(20)))
    kustomization = {
        "apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization",
        "resources": ["crds.yaml", "rbac.yaml", "services.yaml", "workloads.yaml", "config.yaml"],
        "configMapGenerator": [{"name": f"{name}-parameters", "envs": ["params.env"]}],
        "generatorOptions": {"disableNameSuffixHash": True},
    }
    dump(folder / "kustomization.yaml", [kustomization])


def overlay(name: str, folder: Path) -> None:
    patch = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "deployment-0"},
             "spec": {"template": {"spec": {"containers": [{"name": "main", "env": [
                 {"name": "KUBEFLOW_NAMESPACE", "value": "kubeflow"}]}]}}}}
    dump(folder / "patch-deployment.yaml", [patch])
    kustomization = {
        "apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization",
        "namespace": "kubeflow",
        "namePrefix": f"{name}-",
        "resources": ["../../base"],
        "labels": [{"pairs": {"app.kubernetes.io/name": name, "app.kubernetes.io/part-of": "kubeflow"},
                    "includeSelectors": False},
                   {"pairs": {"component": name}, "includeSelectors": True}],
        "patches": [{"path": "patch-deployment.yaml"},
                    {"target": {"kind": "Deployment", "labelSelector": ""}, "patch": yaml.safe_dump([
                        {"op": "add", "path": "/spec/template/metadata/annotations",
                         "value": {"sidecar.istio.io/inject": "false"}}])}],
        "images": [{"name": f"registry.example/bench/deployment-{i}", "newTag": "v2.0.0"}
                   for i in range(SERVICES)],
    }
    dump(folder / "kustomization.yaml", [kustomization])


def generate(out: Path, components: int = COMPONENTS, name: str = "kfdeploy-bench-kustomize") -> Path:
    """Write the tree under ``out``; returns its kfdef.yaml."""
    names = [f"component-{c:02d}" for c in range(components)]
    for c, n in enumerate(names):
        base(n, out / "apps" / n / "base", large_crds=2 - c % 2)
        overlay(n, out / "apps" / n / "overlays" / "kubeflow")
    dump(out / "example" / "kustomization.yaml", [{
        "apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization",
        "resources": ["namespace.yaml"] + [f"../apps/{n}/overlays/kubeflow" for n in names]}])
    dump(out / "example" / "namespace.yaml", [{"apiVersion": "v1", "kind": "Namespace",
                                               "metadata": {"name": "kubeflow"}}])
    spec = out / "kfdef.yaml"
    spec.write_text(yaml.safe_dump({
        "apiVersion": "kfdef.apps.kubeflow.org/v1", "kind": "KfDef",
        "metadata": {"name": name, "namespace": "kubeflow"},
        "spec": {"platform": {"kind": "kwok"},
                 "applications": [{"name": "platform", "kustomize": {"path": "example"}}]}}, sort_keys=False))
    return spec


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-o", "--out", type=Path, required=True)
    parser.add_argument("--components", type=int, default=COMPONENTS)
    args = parser.parse_args()
    print(generate(args.out, args.components))


if __name__ == "__main__":
    main()
