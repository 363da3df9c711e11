"""Pre-flight checks: what would make an install fail halfway, found before anything changes.

Two groups, run in the order an install meets them:

- **cloud** (gke, eks; before a cluster is created or changed): the machine / instance and
  accelerator types are offered in the location and its zones, and the Kubernetes version is
  offered — asked of the cloud by the platform module (cloud SDKs live only in platforms/);
- **cluster** (``checks.CLUSTER_CHECKS``): reachable and a supported version, capacity for the
  rendered pods, StorageClasses for the claims, CRDs owned by another tool, admission webhooks
  that would reject the writes, pods their namespace's Pod Security level would refuse;
- **credentials** (``published.findings``, from the render alone): Secrets whose values a
  downloaded source publishes (the official release's default passwords), a WARN each.

Every finding is OK, WARN or FAIL and names the object and the fix; any FAIL stops ``apply``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kfdeploy.errors import KfdeployError
from kfdeploy.findings import Finding, Report
from kfdeploy.kube.inventory import applyset_id
from kfdeploy.library import Library
from kfdeploy.preflight import published
from kfdeploy.preflight.checks import Inputs, run_checks
from kfdeploy.preflight.pools import pool_templates
from kfdeploy.render.params import plan_applications

if TYPE_CHECKING:
    from kfdeploy.kube.client import Cluster
    from kfdeploy.render import Rendered
    from kfdeploy.spec import KfDef

__all__ = ["Finding", "PreflightError", "Report", "cluster_findings"]


class PreflightError(KfdeployError):
    """A pre-flight check failed; nothing was changed."""

    def __init__(self, report: Report) -> None:
        lines = "\n".join(f.line() for f in report.failed)
        super().__init__(f"preflight: {len(report.failed)} check(s) failed; nothing was changed:\n{lines}",
                         hint="fix them and re-run, or pass --skip-preflight to apply anyway")
        self.report = report


def kube_versions(spec: KfDef, library: Library | None = None) -> dict[str, str]:
    """application -> the kubeVersion its component declares ("" when none)."""
    plans, _ = plan_applications(spec, library or Library.load())
    return {p.name: p.component.kube_version if p.component else "" for p in plans}


def cluster_findings(spec: KfDef, rendered: Rendered, cluster: Cluster, *, force_conflicts: bool = False,
                     library: Library | None = None) -> list[Finding]:
    inputs = Inputs([(a.name, a.objects) for a in rendered.applications], kube_versions(spec, library),
                    applyset_id(spec.metadata.name), force_conflicts, tuple(pool_templates(spec)))
    return run_checks(cluster, inputs) + published.findings(spec, rendered)

