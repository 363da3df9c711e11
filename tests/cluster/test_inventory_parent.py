"""The ApplySet parent against the real local control plane: created with the namespace,
extended with new group-kinds, and read with a single request when it is already current."""

from __future__ import annotations

from typing import Any

from kfdeploy.kube.client import Cluster
from kfdeploy.kube.inventory import Inventory
from kfdeploy.labels import APPLYSET_ID, GROUP_KINDS

from .test_engine import unique


def test_parent_is_written_once_then_only_read(cluster: Any):
    kube = Cluster.connect(cluster.kubeconfig, cluster.context)
    inventory = Inventory(kube, unique("parent"))
    try:
        inventory.ensure_parent(["ConfigMap", "Deployment.apps"])
        before = kube.requests
        inventory.ensure_parent(["Deployment.apps"])  # nothing new: the parent already says it
        assert kube.requests - before == 1
        inventory.ensure_parent(["Role.rbac.authorization.k8s.io"])
        parent = kube.get(inventory._parent_stub())
        assert parent is not None
        assert parent["metadata"]["labels"][APPLYSET_ID] == inventory.id
        assert parent["metadata"]["annotations"][GROUP_KINDS] == \
            "ConfigMap,Deployment.apps,Role.rbac.authorization.k8s.io"
    finally:
        kube.delete(inventory._parent_stub())
