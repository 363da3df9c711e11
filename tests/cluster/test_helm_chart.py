"""A helm chart into a namespace that does not exist yet: the namespace is made and owned, the
CRD from ``crds/`` goes first, the pre-install hook Job completes before the Deployment is
applied, post hooks come last, test hooks are left out; a changed hook Job is replaced (runs
again) without --recreate; delete removes it all, the namespace too."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import yaml

from kfdeploy.kube.client import Cluster
from kfdeploy.kube.engine import ApplyOptions, Engine
from kfdeploy.objects import describe
from kfdeploy.render import render
from kfdeploy.spec import parse_spec

from .conftest import cli_run

CHART = Path(__file__).resolve().parents[1] / "fixtures" / "charts" / "hooked"


class RecordingCluster(Cluster):
    """The real client, noting each applied object and whether the hook Job was complete then."""

    order: list[str]
    job_complete_at: dict[str, bool]

    def apply(self, obj: dict[str, Any], **kw: Any) -> dict[str, Any]:
        if not kw.get("dry_run"):
            self.order.append(describe(obj))
            if obj["kind"] == "Deployment":
                job = self.get({"apiVersion": "batch/v1", "kind": "Job",
                                "metadata": {"name": "hooked-migrate", "namespace": obj["metadata"]["namespace"]}})
                conditions = ((job or {}).get("status") or {}).get("conditions") or []
                self.job_complete_at[describe(obj)] = any(
                    c["type"] == "Complete" and c["status"] == "True" for c in conditions)
        return super().apply(obj, **kw)


def spec_data(ns: str, schema: str) -> dict[str, Any]:
    return {"apiVersion": "kfdef.apps.kubeflow.org/v1", "kind": "KfDef", "metadata": {"name": f"helm-{ns}"},
            "spec": {"platform": {"kind": "kwok"}, "applications": [
                {"name": "hooked", "helm": {"chart": str(CHART), "namespace": ns,
                                            "values": {"schemaVersion": schema}}}]}}


def converge(kube: Cluster, ns: str, schema: str) -> Any:
    spec = parse_spec(spec_data(ns, schema), "kfdef.yaml", CHART)
    rendered = render(spec, only=("hooked",))
    engine = Engine(kube, spec.metadata.name, spec.spec_hash(), ApplyOptions(timeout=180))
    (result,) = engine.apply(engine.plan([(a.name, a.objects, a.depends_on) for a in rendered.applications]))
    return result


def get(kube: Cluster, api_version: str, kind: str, ns: str, name: str) -> dict[str, Any] | None:
    return kube.get({"apiVersion": api_version, "kind": kind, "metadata": {"name": name, "namespace": ns}})


def test_chart_into_a_new_namespace_with_crd_cr_hooks_and_deployment(cluster: Any, tmp_path: Path):
    ns = f"chart-{uuid.uuid4().hex[:6]}"
    kube = RecordingCluster.connect(cluster.kubeconfig, cluster.context)
    assert isinstance(kube, RecordingCluster)
    kube.order, kube.job_complete_at = [], {}
    assert get(kube, "v1", "Namespace", "", ns) is None

    result = converge(kube, ns, "1")
    assert result.outcome == "applied", result.error
    order = [o for o in kube.order if not o.startswith("ConfigMap/kfdeploy-system")]  # inventory
    position = {o: i for i, o in enumerate(order)}
    crd, namespace = "CustomResourceDefinition/gadgets.hooks.test.kfdeploy.io", f"Namespace/{ns}"
    account, job = f"ServiceAccount/{ns}/hooked-migrate", f"Job/{ns}/hooked-migrate"
    server, gadget = f"Deployment/{ns}/hooked-server", f"Gadget.hooks.test.kfdeploy.io/{ns}/hooked-gadget"
    post = f"ConfigMap/{ns}/hooked-installed"
    assert max(position[namespace], position[crd]) < position[account] < position[job]
    assert position[job] < min(position[server], position[gadget]) and max(position[server], position[gadget]) < position[post]
    assert kube.job_complete_at == {server: True}  # the pre-install Job had completed
    assert f"Pod/{ns}/hooked-test" not in position  # test hooks are not installed
    live_ns = get(kube, "v1", "Namespace", "", ns)
    assert live_ns is not None and "applyset.kubernetes.io/part-of" in live_ns["metadata"]["labels"]  # owned
    assert get(kube, "hooks.test.kfdeploy.io/v1", "Gadget", ns, "hooked-gadget") is not None

    spec_file = tmp_path / "kfdef.yaml"
    spec_file.write_text(yaml.safe_dump(spec_data(ns, "1")))
    args = ["-f", str(spec_file)]
    code, out, err = cli_run(cluster, "plan", "-a", "hooked", *args)
    assert code == 0, out + err  # a second run has nothing to do

    first_job = get(kube, "batch/v1", "Job", ns, "hooked-migrate")
    spec_file.write_text(yaml.safe_dump(spec_data(ns, "2")))
    code, out, err = cli_run(cluster, "plan", "-a", "hooked", *args)
    assert code == 2
    assert f"recreate Job/{ns}/hooked-migrate" in out and "before-hook-creation" in out
    result = converge(kube, ns, "2")  # no --recreate: the hook replaces itself
    assert result.outcome == "applied" and result.recreated == 1, result.error
    second_job = get(kube, "batch/v1", "Job", ns, "hooked-migrate")
    assert first_job and second_job and second_job["metadata"]["uid"] != first_job["metadata"]["uid"]
    assert second_job["spec"]["template"]["spec"]["containers"][0]["args"] == ["--schema=2"]

    code, _, err = cli_run(cluster, "delete", "--yes", *args)
    assert code == 0, err
    assert get(kube, "v1", "Namespace", "", ns) is None


def test_a_password_the_chart_makes_is_kept_by_every_apply(cluster: Any, tmp_path: Path) -> None:
    """``randAlphaNum`` gives a new value on every ``helm template``: the first apply's stays,
    a re-apply and a plan see no change, and no output shows it."""
    import base64
    import json
    ns = f"mk-{uuid.uuid4().hex[:6]}"
    chart = CHART.parent / "makes-passwords"
    path = tmp_path / "kfdef.yaml"
    path.write_text(yaml.safe_dump({
        "apiVersion": "kfdef.apps.kubeflow.org/v1", "kind": "KfDef", "metadata": {"name": f"helm-{ns}"},
        "spec": {"platform": {"kind": "kwok"}, "applications": [
            {"name": "db", "helm": {"chart": str(chart), "namespace": ns}}]}}))
    kube = Cluster.connect(cluster.kubeconfig, cluster.context)
    stub = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db-auth", "namespace": ns}}
    try:
        code, out, err = cli_run(cluster, "apply", "-f", str(path), "--yes")
        assert code == 0, err
        live = kube.get(stub)
        assert live is not None
        password = base64.b64decode(live["data"]["password"]).decode()
        assert len(password) == 24
        said = out + err
        for _ in range(2):
            code, out, err = cli_run(cluster, "apply", "-f", str(path), "--yes", "-o", "json", "--no-cache")
            assert code == 0, err
            assert {a["outcome"] for a in json.loads(out)["applications"]} == {"unchanged"}
            said += out + err
        again = kube.get(stub)
        assert again is not None and again["metadata"]["resourceVersion"] == live["metadata"]["resourceVersion"]
        code, out, err = cli_run(cluster, "plan", "-f", str(path), "-vv")
        assert code == 0, out + err
        code, built, _ = cli_run(cluster, "show", "-f", str(path))
        assert password not in said + out + err + built
        assert f"<generated:db.{ns}_db-auth_password>" in built
    finally:
        cli_run(cluster, "delete", "-f", str(path), "--yes", "--delete-namespaces")
        kube.delete({"apiVersion": "v1", "kind": "Secret",
                     "metadata": {"name": f"kfdeploy.helm-{ns}.credentials", "namespace": "kfdeploy-system"}})
