"""GKE from CI: gcloud and gke-gcloud-auth-plugin installed, no gcloud account, credentials from
GOOGLE_APPLICATION_CREDENTIALS. The kubeconfig kfdeploy writes makes the plugin use those
Application Default Credentials, so the first Kubernetes call authenticates. Stub executables
that record their arguments stand in for gcloud and the plugin, first on PATH (the machine's
real ones never run)."""

# ruff: noqa: F401, F811 (pytest fixtures are imported from fakes.gke_testing, used as parameters)
from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest
from fakes.gke_server import FakeGke
from fakes.gke_testing import CPU, Clock, clock, fake, gke_spec, run
from google.auth.credentials import AnonymousCredentials

from kfdeploy.errors import PlatformError
from kfdeploy.kube.transport import load_endpoint, run_exec_plugin
from kfdeploy.platforms.gke import GkePlatform

NO_ACCOUNT = ("ERROR: (gcloud.config.config-helper) You do not currently have an active account selected.")
GCLOUD = f"""#!{sys.executable}
import json, os, sys
with open(os.environ["STUB_LOG"], "a") as log:
    log.write(json.dumps(["gcloud", *sys.argv[1:]]) + "\\n")
sys.stderr.write({NO_ACCOUNT!r} + "\\n")
sys.exit(1)
"""
# As the real plugin: with --use_application_default_credentials it reads ADC, else it asks gcloud.
PLUGIN = f"""#!{sys.executable}
import json, os, subprocess, sys
with open(os.environ["STUB_LOG"], "a") as log:
    log.write(json.dumps(["gke-gcloud-auth-plugin", *sys.argv[1:]]) + "\\n")
if "--use_application_default_credentials" in sys.argv[1:]:
    key = json.load(open(os.environ["GOOGLE_APPLICATION_CREDENTIALS"]))
    token = "adc-token-for-" + key["client_email"]
else:
    done = subprocess.run(["gcloud", "config", "config-helper", "--format=json"], capture_output=True, text=True)
    if done.returncode:
        sys.exit("unable to retrieve access token: " + done.stderr)
    token = json.loads(done.stdout)["credential"]["access_token"]
print(json.dumps({{"apiVersion": "client.authentication.k8s.io/v1beta1", "kind": "ExecCredential",
                  "status": {{"token": token}}}}))
"""


@pytest.fixture
def ci_machine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Stub gcloud and plugin first on PATH, a service-account key in GOOGLE_APPLICATION_CREDENTIALS."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, text in (("gcloud", GCLOUD), ("gke-gcloud-auth-plugin", PLUGIN)):
        (bin_dir / name).write_text(text)
        (bin_dir / name).chmod(0o755)
    key = tmp_path / "sa.json"
    key.write_text(json.dumps({"type": "service_account", "client_email": "ci@proj-1.iam.gserviceaccount.com"}))
    log = tmp_path / "calls.jsonl"
    monkeypatch.setenv("PATH", f"{bin_dir}:{sys.exec_prefix}/bin:/usr/bin:/bin")
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(key))
    monkeypatch.setenv("STUB_LOG", str(log))
    return log


def calls(log: Path) -> list[list[str]]:
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


def test_the_kubeconfig_authenticates_with_adc_when_gcloud_has_no_account(
        fake: FakeGke, tmp_path: Path, clock: Clock, ci_machine: Path) -> None:
    platform = GkePlatform(AnonymousCredentials, kube_dir=tmp_path / "kube", poll_interval=10,
                           sleep=clock.sleep, clock=lambda: clock.now, which=shutil.which)
    info, lines = run(platform, gke_spec(tmp_path, [CPU]))
    assert not any("not on PATH" in line for line in lines)  # the stub plugin was found on PATH
    endpoint = load_endpoint(info.kubeconfig)
    assert endpoint.exec is not None
    credential = run_exec_plugin(endpoint.exec)  # what the first Kubernetes call does
    assert credential.token == "adc-token-for-ci@proj-1.iam.gserviceaccount.com"
    assert calls(ci_machine) == [["gke-gcloud-auth-plugin", "--use_application_default_credentials"]]


def test_without_the_flag_the_plugin_fails_as_in_ci(ci_machine: Path, tmp_path: Path) -> None:
    """The stubs reproduce the failure the flag avoids: the plugin asks gcloud, which has no account."""
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(json.dumps({
        "apiVersion": "v1", "kind": "Config", "current-context": "c",
        "clusters": [{"name": "c", "cluster": {"server": "https://127.0.0.1:1"}}],
        "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}],
        "users": [{"name": "u", "user": {"exec": {"apiVersion": "client.authentication.k8s.io/v1beta1",
                                                  "command": "gke-gcloud-auth-plugin"}}}]}))
    endpoint = load_endpoint(kubeconfig)
    assert endpoint.exec is not None
    with pytest.raises(PlatformError, match="You do not currently have an active account selected"):
        run_exec_plugin(endpoint.exec)
    assert [c[0] for c in calls(ci_machine)] == ["gke-gcloud-auth-plugin", "gcloud"]
