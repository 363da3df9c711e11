"""The commented starter spec ``kfdeploy init`` writes, one platform block per kind.

Text templates rather than a dumped model: the comments are the point, they teach a newcomer
what each field does. ``kfdeploy.workflow.spec_verbs.init`` validates the result before writing.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

import yaml

DEFAULT_APPLICATIONS: tuple[tuple[str, str], ...] = (
    ("cert-manager", "TLS certificates for webhooks"),
    ("istio", "service mesh and ingress gateway"),
    ("auth", "login (OIDC) in front of the dashboard"),
    ("central-dashboard", "the Kubeflow web UI"),
    ("profiles", "per-user namespaces and access"),
    ("admission-webhook", "injects PodDefaults into notebooks"),
    ("notebooks", "Jupyter notebook servers"),
    ("volumes-web-app", "manage volumes from the UI"),
    ("tensorboards", "TensorBoard servers"),
    ("training-operator", "distributed training jobs (PyTorchJob, TFJob, ...)"),
    ("katib", "hyperparameter tuning"),
    ("pipelines", "ML pipelines"),
    ("kserve", "model serving"),
    ("monitoring", "metrics and dashboards"),
)
DEVICE_PLUGIN = ("nvidia-device-plugin", "advertises nvidia.com/gpu on GPU nodes")
GPU_TAINT = "{key: nvidia.com/gpu, value: present, effect: NoSchedule}"
GPU_LABEL = '{nvidia.com/gpu.present: "true"}'


@dataclass(frozen=True)
class StarterOptions:
    platform: str
    name: str = "kubeflow"
    project: str | None = None
    location: str | None = None
    region: str | None = None
    gpus: int = 0
    context: str | None = None


HEADER = """\
# KfDef: one file describes a whole Kubeflow deployment.
#   kfdeploy validate -f {file}   # check it
#   kfdeploy plan -f {file}       # see what apply would change
#   kfdeploy apply -f {file}      # create the cluster, deploy, wait until healthy
# Edit and re-run apply to upgrade; removed applications are pruned.
# Field reference: docs/spec.md; JSON Schema for editors: `kfdeploy schema`.
apiVersion: kfdef.apps.kubeflow.org/v1
kind: KfDef
metadata:
  name: {name:<18} # names the cluster and the inventory (lowercase, digits, '-')
  namespace: kubeflow      # default namespace of the platform's objects
spec:
  version: "1.10"          # component library release (quote it: YAML reads 1.10 as 1.1)
  platform:
"""

FOOTER = """\
  # Named parameter overlays (overlays/<name>.yaml), applied in order after the platform's own.
  overlays: []
  # Param overrides: "*" applies to every component that declares the param,
  # or use an application name. An application's own params win over both.
  params: {{}}
  # Secret values for components, read at apply time and never printed, e.g.
  #   - name: oidc-client-secret
  #     secretSource: {{envSource: {{name: OIDC_CLIENT_SECRET}}}}
  secrets: []
  # What to deploy. Order does not matter: each component's dependsOn decides it.
  # Per application: enabled: false (keep listed, do not deploy), params: {{...}},
  # overlays: [...], dependsOn: [...], or a source of your own:
  #   jsonnet: {{path: ./components/my-app}}  or  helm: {{chart: ..., repo: ..., values: {{...}}}}
  applications:
{applications}"""


def _gke(o: StarterOptions) -> str:
    text = f"""\
    kind: gke
    gke:
      project: {_scalar(o.project):<18} # Google Cloud project ID
      location: {_scalar(o.location):<17} # zone (one-zone cluster) or region (regional cluster)
      cluster:
        version: null             # GKE version; null = the default in platforms/gke.yaml
        nodePools:
        - name: cpu
          machineType: e2-standard-8
          autoscaling: {{min: 1, max: 5}}
          diskSizeGb: 100
"""
    if o.gpus:
        text += f"""\
        # GPU pool: scales from zero; GKE installs the driver and the device plugin.
        # Pick a machine type that supports the accelerator count.
        - name: gpu
          machineType: n1-standard-8
          autoscaling: {{min: 0, max: 2}}
          accelerators:
          - {{type: nvidia-tesla-t4, count: {o.gpus}}}
          taints:               # only pods that tolerate it (GPU workloads) land here
          - {GPU_TAINT}
          diskSizeGb: 200
          spot: false           # true = cheaper Spot VMs that can be preempted
"""
    return text


def _eks_instance(gpus: int) -> tuple[str, int]:
    """The smallest common GPU instance type with at least ``gpus`` GPUs, and its count."""
    return ("g5.xlarge", 1) if gpus == 1 else ("g5.12xlarge", 4) if gpus <= 4 else ("g5.48xlarge", 8)


def _scalar(value: str | None) -> str:
    """``value`` as a YAML scalar that reads back as the same string (quoted when needed)."""
    text = str(value)
    plain = re.fullmatch(r"[A-Za-z][-A-Za-z0-9_.]*", text) and yaml.safe_load(text) == text
    return text if plain else json.dumps(text)


def _eks(o: StarterOptions) -> str:
    text = f"""\
    kind: eks
    eks:
      region: {_scalar(o.region):<19} # AWS region
      cluster:
        version: null             # EKS version; null = the default in platforms/eks.yaml
        nodeGroups:
        - name: cpu
          instanceType: m5.2xlarge
          scaling: {{min: 1, max: 5, desired: 2}}
"""
    if o.gpus:
        instance, per_node = _eks_instance(o.gpus)
        text += f"""\
        # GPU node group: the NVIDIA AMI ships the driver; {instance} has {per_node} GPU(s).
        - name: gpu
          instanceType: {instance}
          amiType: AL2023_x86_64_NVIDIA
          scaling: {{min: 0, max: 2, desired: 1}}
          diskSizeGb: 200
          taints:               # only pods that tolerate it (GPU workloads) land here
          - {GPU_TAINT}
          labels: {GPU_LABEL}
"""
    text += """\
        # vpc: {subnetIds: [subnet-aaa, subnet-bbb]}   # use existing subnets (2+ zones)
"""
    return text


def _kind(o: StarterOptions) -> str:
    return f"""\
    kind: kind
    kindCluster:                # the kind platform's block (YAML allows one 'kind' key)
      name: null                # kind cluster name; null = metadata.name
      image: null               # node image, e.g. kindest/node:v1.33.1; null = kind's default
      gpus: {o.gpus}                   # GPUs passed to the node (needs the NVIDIA container toolkit)
"""


def _minikube(o: StarterOptions) -> str:
    return f"""\
    kind: minikube
    minikube:
      profile: null             # minikube profile; null = metadata.name
      kubernetesVersion: null   # e.g. v1.33.1; null = minikube's default
      cpus: 8
      memory: 16g
      gpus: {o.gpus}                   # GPUs passed through (0 = none)
"""


def _kwok(o: StarterOptions) -> str:
    text = """\
    kind: kwok                  # local control plane with simulated nodes: no Docker, no cloud
    kwok:
      nodePools:                # simulated nodes with this capacity each
      - {name: cpu, count: 3, cpu: "16", memory: "64Gi"}
"""
    if o.gpus:
        text += f"""\
      - name: gpu
        count: 1
        cpu: "16"
        memory: "64Gi"
        gpus: {o.gpus}                 # nvidia.com/gpu capacity per node
        taints: [{GPU_TAINT}]
        labels: {GPU_LABEL}
"""
    return text


def _existing(o: StarterOptions) -> str:
    return f"""\
    kind: existing              # a cluster you already have; kfdeploy never creates or deletes it
    existing:
      context: {_scalar(o.context):<18} # kubeconfig context
      # kubeconfig: ./kubeconfig   # default: $KUBECONFIG or ~/.kube/config
"""


PLATFORM_BLOCKS = {"gke": _gke, "eks": _eks, "kind": _kind, "minikube": _minikube,
                   "kwok": _kwok, "existing": _existing}


def applications(o: StarterOptions) -> list[tuple[str, str]]:
    """Default applications; the device plugin joins when there are GPUs (GKE brings its own)."""
    apps = list(DEFAULT_APPLICATIONS)
    if o.gpus and o.platform != "gke":
        apps.append(DEVICE_PLUGIN)
    return apps


def starter_spec(o: StarterOptions, file: str = "kfdef.yaml") -> str:
    """The starter spec text for ``o.platform``."""
    apps = "".join(f"  - name: {n:<20} # {doc}\n" for n, doc in applications(o))
    return (HEADER.format(file=file, name=_scalar(o.name)) + PLATFORM_BLOCKS[o.platform](o)
            + FOOTER.format(applications=apps))
