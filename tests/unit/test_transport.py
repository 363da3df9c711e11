"""Reading kubeconfigs and building requests without the kubernetes package: merging, paths,
inline data, tokens, exec credential plugins (a stub executable) and the errors that name
what is wrong."""

from __future__ import annotations

import base64
import json
import os
import stat
from pathlib import Path
from typing import Any

import pytest
import yaml

from kfdeploy.kube.transport import KubeconfigError, Transport, load_endpoint, merged


def kubeconfig(path: Path, *, name: str = "one", server: str = "https://127.0.0.1:6443",
               user: dict[str, Any] | None = None, cluster: dict[str, Any] | None = None,
               current: str | None = "one") -> Path:
    path.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": current,
        "clusters": [{"name": name, "cluster": {"server": server, **(cluster or {})}}],
        "users": [{"name": name, "user": user or {}}],
        "contexts": [{"name": name, "context": {"cluster": name, "user": name}}]}))
    return path


def test_current_context_server_and_relative_files(tmp_path: Path):
    path = kubeconfig(tmp_path / "config", cluster={"certificate-authority": "pki/ca.crt"},
                      user={"client-certificate": "pki/admin.crt", "client-key": "/abs/admin.key"})
    ep = load_endpoint(path)
    assert ep.server == "https://127.0.0.1:6443"
    assert ep.ca_file == str(tmp_path / "pki" / "ca.crt")  # relative to the kubeconfig's folder
    assert ep.cert_file == str(tmp_path / "pki" / "admin.crt")
    assert ep.key_file == "/abs/admin.key"


def test_inline_data_becomes_owner_only_files(tmp_path: Path):
    pem = b"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
    path = kubeconfig(tmp_path / "config", cluster={"certificate-authority-data": base64.b64encode(pem).decode()})
    ep = load_endpoint(path)
    assert ep.ca_file is not None and Path(ep.ca_file).read_bytes() == pem
    assert stat.S_IMODE(os.stat(ep.ca_file).st_mode) & 0o077 == 0


def test_kubeconfig_list_merges_first_file_wins(tmp_path: Path):
    first = kubeconfig(tmp_path / "a", name="shared", server="https://first:443", current=None)
    second = kubeconfig(tmp_path / "b", name="shared", server="https://second:443", current="shared")
    env = {"KUBECONFIG": os.pathsep.join([str(first), str(tmp_path / "missing"), str(second)])}
    ep = load_endpoint(None, None, env)
    assert ep.server == "https://first:443"  # named entry from the first file, context from the second
    assert list(merged([first, second])[0]["contexts"]) == ["shared"]


@pytest.mark.parametrize(("context", "user", "message"), [
    ("nope", {}, "context 'nope' not found (contexts: one)"),
    (None, {"auth-provider": {"name": "gcp"}}, "auth-provider 'gcp' is not supported"),
], ids=["unknown-context", "auth-provider"])
def test_errors_name_the_entry(tmp_path: Path, context: str | None, user: dict[str, Any], message: str):
    with pytest.raises(KubeconfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_endpoint(kubeconfig(tmp_path / "config", user=user), context)


def test_no_file_at_all_names_the_paths(tmp_path: Path):
    with pytest.raises(KubeconfigError, match="no kubeconfig file at"):
        load_endpoint(tmp_path / "absent")


def test_token_file_is_sent_as_bearer(tmp_path: Path):
    (tmp_path / "token").write_text("s3cret-token\n")
    transport = Transport(load_endpoint(kubeconfig(tmp_path / "config", user={"tokenFile": "token"})))
    _, headers = transport._headers()
    assert headers == {"Authorization": "Bearer s3cret-token"}


def plugin(tmp_path: Path, expires: str) -> Path:
    """A stub credential plugin: counts its runs, prints an ExecCredential."""
    script = tmp_path / "plugin"
    script.write_text("#!/bin/sh\n"
                      f"echo run >> {tmp_path / 'runs'}\n"
                      'test -n "$KUBERNETES_EXEC_INFO" || exit 3\n'
                      "cat <<EOF\n" + json.dumps({"apiVersion": "client.authentication.k8s.io/v1beta1",
                                                  "kind": "ExecCredential", "status": {
                                                      "token": "from-plugin-$PLUGIN_ARG",
                                                      "expirationTimestamp": expires}}) + "\nEOF\n")
    script.chmod(0o755)
    return script


@pytest.mark.parametrize(("expires", "runs"), [("2999-01-01T00:00:00Z", 1), ("2000-01-01T00:00:00Z", 2)],
                         ids=["valid-token-reused", "expired-token-renewed"])
def test_exec_plugin_token_is_cached_until_it_expires(tmp_path: Path, expires: str, runs: int):
    script = plugin(tmp_path, expires)
    user = {"exec": {"apiVersion": "client.authentication.k8s.io/v1beta1", "command": str(script),
                     "env": [{"name": "PLUGIN_ARG", "value": "x"}]}}
    transport = Transport(load_endpoint(kubeconfig(tmp_path / "config", user=user)))
    assert transport._headers()[1] == {"Authorization": "Bearer from-plugin-x"}
    transport._headers()
    assert (tmp_path / "runs").read_text().count("run") == runs


def test_a_failing_plugin_is_named(tmp_path: Path):
    script = tmp_path / "plugin"
    script.write_text("#!/bin/sh\necho 'not logged in' >&2\nexit 1\n")
    script.chmod(0o755)
    transport = Transport(load_endpoint(kubeconfig(tmp_path / "config", user={"exec": {"command": str(script)}})))
    with pytest.raises(Exception, match=f"credential plugin {script} failed: not logged in"):
        transport._headers()
