"""What plan, apply and status print: pure renderings of results."""

from __future__ import annotations

from kfdeploy.kube.engine import AppResult, SpecPlan, Unhealthy
from kfdeploy.kube.live import LiveIndex
from kfdeploy.kube.plan import AppPlan, Change
from kfdeploy.render.adjust import Adjustment
from kfdeploy.workflow.deploy_verbs import ApplyResult, PlanResult, StatusResult

CM = ("", "ConfigMap", "kubeflow", "settings")
DEP = ("apps", "Deployment", "kubeflow", "ui")
PVC = ("", "PersistentVolumeClaim", "kubeflow", "data")


def spec_plan(*apps: AppPlan, removed: tuple[AppPlan, ...] = ()) -> SpecPlan:
    return SpecPlan(list(apps), list(removed), {}, LiveIndex(), {})


def test_plan_text_lists_changes_counts_creates_and_sets_exit_code():
    plan = spec_plan(AppPlan("pipelines", [Change("create", CM), Change("update", DEP, diff="-  image: a\n+  image: b"),
                                           Change("unchanged", ("", "Service", "kubeflow", "ui"))]),
                     removed=(AppPlan("katib", [Change("delete", CM), Change("keep", PVC, reason="holds data")]),))
    result = PlanResult(plan)
    text = result.text()
    assert "pipelines: 1 create, 1 update" in text
    assert "~ update Deployment/kubeflow/ui" in text and "+  image: b" in text
    assert "ConfigMap/kubeflow/settings" not in text.split("katib:")[0]  # creates are counted, -v lists them
    assert "! keep   PersistentVolumeClaim/kubeflow/data  (holds data)" in text
    assert "Service/kubeflow/ui" not in text
    assert "Plan: 1 to create, 1 to update, 1 to delete, 1 kept." in text
    assert result.exit_code == 2
    verbose = PlanResult(plan, verbose=1).text()
    assert "+ create ConfigMap/kubeflow/settings" in verbose


def test_plan_without_changes_exits_zero_and_says_so():
    result = PlanResult(spec_plan(AppPlan("istio", [Change("unchanged", CM)])))
    assert result.exit_code == 0
    assert result.text().endswith("No changes: the cluster matches the spec.")
    assert result.to_data() == {"changes": False, "applications": [
        {"name": "istio", "summary": "no changes", "changes": []}], "adjustments": []}


def test_apply_text_reports_failures_with_events_and_the_way_forward():
    failed = AppResult("katib", "failed", created=3,
                       unhealthy=[Unhealthy(("apps", "Deployment", "kubeflow", "katib-ui"), "Ready 0/1",
                                            ("Warning FailedScheduling: 0/4 nodes",))],
                       error="1 object(s) not healthy before the timeout", seconds=12.5)
    result = ApplyResult([AppResult("istio", "unchanged"), failed], requests=120, seconds=14.0)
    text = result.text()
    assert "unhealthy Deployment/kubeflow/katib-ui: Ready 0/1" in text
    assert "event: Warning FailedScheduling: 0/4 nodes" in text
    assert "Apply FAILED" in text and "re-run apply" in text
    assert result.exit_code == 1
    assert result.to_data()["applications"][1]["unhealthy"][0]["events"] == ["Warning FailedScheduling: 0/4 nodes"]


def test_status_exit_code_and_json_shape():
    healthy = {"name": "istio", "health": "Healthy", "objects": 2, "ready": 2, "unhealthy": []}
    degraded = {"name": "katib", "health": "Degraded", "objects": 2, "ready": 1,
                "unhealthy": [{"object": "Deployment/kubeflow/x", "status": "Failed", "reason": "CrashLoopBackOff"}]}
    assert StatusResult([healthy]).exit_code == 0
    result = StatusResult([healthy, degraded])
    assert result.exit_code == 1
    assert result.to_data() == {"components": [healthy, degraded], "revision": None}
    assert "Deployment/kubeflow/x: CrashLoopBackOff" in result.text()
    assert "Revision: none recorded" in result.text()
    live = {"revision": 4, "outcome": "interrupted", "finished": False, "time": "2026-01-01T00:00:00Z",
            "specMatches": False, "rollbackTo": 2}
    text = StatusResult([healthy], live).text().splitlines()[0]
    assert text.startswith("Revision 4: interrupted") and "a rollback to revision 2" in text
    assert "did not finish" in text and "spec file differs" in text


def test_platform_adjustments_are_counted_and_listed_under_v():
    note = Adjustment("kwok", "cert-manager", "ValidatingWebhookConfiguration/cert-manager-webhook",
                      "webhook webhook.cert-manager.io failurePolicy Fail -> Ignore")
    changes = spec_plan(AppPlan("cert-manager", [Change("unchanged", CM)]))
    plan = PlanResult(changes, adjustments=[note, note])
    assert "Platform adjustments (kwok): 2 change(s) (-v lists them)" in plan.text()
    assert note.change not in plan.text()
    listed = PlanResult(changes, verbose=1, adjustments=[note]).text()
    assert ("Platform adjustments (kwok): 1 change(s)\n  ~ ValidatingWebhookConfiguration/cert-manager-webhook"
            " (cert-manager): webhook webhook.cert-manager.io failurePolicy Fail -> Ignore") in listed
    assert plan.to_data()["adjustments"][0] == {"platform": "kwok", "application": "cert-manager",
                                                "object": note.object, "change": note.change}
    applied = ApplyResult([AppResult("cert-manager", "applied")], adjustments=[note])
    assert "1 change(s) (-v lists them)" in applied.text() and note.change not in applied.text()
    assert note.change in ApplyResult([AppResult("cert-manager", "applied")], adjustments=[note], verbose=1).text()
    assert applied.to_data()["adjustments"][0]["change"] == note.change
    assert "Platform adjustments" not in PlanResult(spec_plan()).text()
