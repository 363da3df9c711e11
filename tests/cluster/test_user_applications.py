"""A user's own jsonnet component and a helm chart, side by side with a secret from the
environment: applied in order, healthy, and the secret never printed."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from kfdeploy.cli import cli
from kfdeploy.kube.client import Cluster
from kfdeploy.labels import APPLICATION

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def write_spec(tmp_path: Path, name: str, ns: str) -> Path:
    spec = {
        "apiVersion": "kfdef.apps.kubeflow.org/v1", "kind": "KfDef",
        "metadata": {"name": name, "namespace": ns},
        "spec": {
            "platform": {"kind": "kwok"},
            "secrets": [{"name": "pw", "secretSource": {"envSource": {"name": "HELLO_PASSWORD"}}}],
            "applications": [
                {"name": "hello", "jsonnet": {"path": str(FIXTURES / "components" / "hello-list")},
                 "params": {"namespace": ns, "password": {"secretRef": "pw"}}},
                {"name": "tiny", "dependsOn": ["hello"],
                 "helm": {"chart": str(FIXTURES / "charts" / "tiny"), "namespace": ns,
                          "values": {"message": "from kfdeploy"}}},
            ],
        },
    }
    path = tmp_path / "kfdef.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


def run(cluster: Any, monkeypatch: pytest.MonkeyPatch, password: str, *args: str) -> tuple[int, str, str]:
    monkeypatch.setenv("HELLO_PASSWORD", password)
    result = CliRunner().invoke(cli, [*args, "--kubeconfig", str(cluster.kubeconfig)])
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def test_jsonnet_and_helm_applications_with_a_secret(cluster: Any, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch):
    ns = f"hello-{uuid.uuid4().hex[:6]}"
    spec = write_spec(tmp_path, f"user-{ns}", ns)
    code, out, err = run(cluster, monkeypatch, "first-pass-Zq9", "apply", "-f", str(spec), "--yes", "-o", "json")
    assert code == 0, err
    names = [a["name"] for a in json.loads(out)["applications"]]  # plus the platform's add-ons
    assert names.index("hello") < names.index("tiny")
    assert "first-pass-Zq9" not in out + err

    kube = Cluster.connect(cluster.kubeconfig, cluster.context)
    secret = kube.get({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "hello", "namespace": ns}})
    import base64
    assert base64.b64decode(secret["data"]["password"]).decode() == "first-pass-Zq9"
    chart_cm = kube.get({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "tiny-config", "namespace": ns}})
    assert chart_cm["data"]["message"] == "from kfdeploy"
    assert chart_cm["metadata"]["labels"][APPLICATION] == "tiny"

    # Rotating the secret is an update whose diff shows that it changed, never the values.
    code, out, err = run(cluster, monkeypatch, "second-pass-Xk4", "plan", "-f", str(spec))
    assert code == 2
    assert "~ update Secret/" in out
    assert "first-pass-Zq9" not in out + err and "second-pass-Xk4" not in out + err
    for value in ("first-pass-Zq9", "second-pass-Xk4"):
        assert base64.b64encode(value.encode()).decode() not in out
    code, out, err = run(cluster, monkeypatch, "second-pass-Xk4", "apply", "-f", str(spec), "--yes")
    assert code == 0, err
    code, out, err = run(cluster, monkeypatch, "second-pass-Xk4", "status", "-f", str(spec), "-o", "json")
    assert code == 0
    assert {c["health"] for c in json.loads(out)["components"]} == {"Healthy"}
    code, _, err = run(cluster, monkeypatch, "second-pass-Xk4", "delete", "-f", str(spec), "--yes")
    assert code == 0, err


def test_the_existing_platform_applies_to_a_named_context(cluster: Any, tmp_path: Path):
    ns = f"existing-{uuid.uuid4().hex[:6]}"
    spec = {"apiVersion": "kfdef.apps.kubeflow.org/v1", "kind": "KfDef",
            "metadata": {"name": ns, "namespace": ns},
            "spec": {"platform": {"kind": "existing", "existing": {
                         "kubeconfig": str(cluster.kubeconfig), "context": cluster.context}},
                     "applications": [{"name": "hello", "jsonnet": {"path": str(FIXTURES / "components" / "hello-list")},
                                       "params": {"namespace": ns}}]}}
    path = tmp_path / "kfdef.yaml"
    path.write_text(yaml.safe_dump(spec))
    runner = CliRunner()
    result = runner.invoke(cli, ["apply", "-f", str(path), "--yes", "-o", "json"])
    assert result.exit_code == 0, result.stderr
    assert "answers: Kubernetes v1.36" in result.stderr  # the context was checked before any change
    assert runner.invoke(cli, ["status", "-f", str(path)]).exit_code == 0
    result = runner.invoke(cli, ["delete", "-f", str(path), "--yes", "--cluster"])
    assert result.exit_code == 3 and "never deletes it" in result.stderr  # someone else's cluster
    assert runner.invoke(cli, ["status", "-f", str(path)]).exit_code == 0  # and nothing was removed
    assert runner.invoke(cli, ["delete", "-f", str(path), "--yes"]).exit_code == 0
