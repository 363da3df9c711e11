"""The label, annotation and tag keys kfdeploy writes or reads, in one place.

Policy: kfdeploy never changes a label, annotation or selector that a source set. Its bookkeeping
uses its own keys: the ApplySet label (``applyset.kubernetes.io/part-of``, see kube.inventory)
and ``APPLICATION`` on every object it applies. The recommended ``app.kubernetes.io`` labels in
``RECOMMENDED`` are added to an object's metadata only where the source left them out. Selectors
and pod templates are never touched: an application's pods are found through each workload's
own selector. Versions before this policy wrote ``LEGACY`` on objects and pod templates
(overwriting the source's values); kube.migrate keeps upgrades from those installs working.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

APPLICATION = "kfdeploy.io/application"
MANAGED_BY = "app.kubernetes.io/managed-by"
RECOMMENDED: Mapping[str, str] = {
    "app.kubernetes.io/part-of": "kubeflow",
    MANAGED_BY: "kfdeploy",
}
OURS: Mapping[str, str] = {MANAGED_BY: "kfdeploy"}
"""The labels of kfdeploy's own objects (its namespace, inventory records, credential store)."""

# ApplySet (KEP-3659), see kube.inventory.
PART_OF = "applyset.kubernetes.io/part-of"
APPLYSET_ID = "applyset.kubernetes.io/id"
TOOLING = "applyset.kubernetes.io/tooling"
GROUP_KINDS = "applyset.kubernetes.io/contains-group-kinds"
# kfdeploy's bookkeeping on applied objects and its own records.
HASH = "kfdeploy.io/hash"
RECORD_OF = "kfdeploy.io/inventory"
CREDENTIALS_OF = "kfdeploy.io/credentials"
RECONCILED_BY = "kfdeploy.io/reconciled-by"
"""Set on the credential store by ``kfdeploy credentials seed``: a GitOps engine applies this KfDef's export."""
SECRETS_CHECKSUM = "kfdeploy.io/secrets-checksum"
"""On pod templates that read Secrets of their application: rolls the pods when one changes."""
SOPS_DIGEST = "kfdeploy.io/sops-digest"
"""On a SOPS-encrypted Secret of an export: a keyed digest of its plaintext and recipients (it
carries no ``HASH``: Git holds no unkeyed digest of a credential)."""
# Platforms: simulated nodes (kwok) and cloud resources (EKS tags).
NODE_POOL = "kfdeploy.io/node-pool"
CLUSTER_TAG = "kfdeploy.io/cluster"
# Keys others write that kfdeploy reads.
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
HELM_HOOK = "helm.sh/hook"
HELM_HOOK_WEIGHT = "helm.sh/hook-weight"
HELM_HOOK_DELETE_POLICY = "helm.sh/hook-delete-policy"
# Annotations the render stage sets for the apply stage (see kube.phases), e.g. from helm hooks.
PHASE = "kfdeploy.io/apply-phase"
REPLACE_ON_CHANGE = "kfdeploy.io/replace-on-change"
"""``"true"``: a changed object is deleted and created again instead of updated (no --recreate
needed): helm hooks with ``before-hook-creation``, so a hook Job runs again."""
LEGACY_APPLICATION = "app.kubernetes.io/component"
LEGACY = frozenset({LEGACY_APPLICATION, "app.kubernetes.io/part-of", "app.kubernetes.io/managed-by",
                    "app.kubernetes.io/version"})


def labels_of(obj: Mapping[str, Any]) -> dict[str, str]:
    return dict((obj.get("metadata") or {}).get("labels") or {})


def application_of(obj: Mapping[str, Any]) -> str:
    """The application an applied object belongs to ('' if none); objects applied by earlier
    versions carry only the legacy key."""
    labels = labels_of(obj)
    return labels.get(APPLICATION) or labels.get(LEGACY_APPLICATION, "")


def bookkeeping(labels: Mapping[str, str] | None, application: str) -> dict[str, str]:
    """``labels`` with the recommended ones where absent and kfdeploy's application label."""
    return {**RECOMMENDED, **(labels or {}), APPLICATION: application}
