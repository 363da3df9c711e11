"""The official releases' published credentials on the real local control plane.

A user installed a release the official way (``kustomize build | kubectl apply --server-side``,
the published values in every Secret), then moves to kfdeploy: the first apply replaces the
published login and client secrets with generated ones (dex and oauth2-proxy agree, and their
pods roll), keeps the database passwords the volumes were initialised with (Pipelines' empty
one included, its MySQL still told so), says both, and prints
no value; ``kfdeploy credentials`` gives a login dex accepts; the next apply changes nothing.
The release is our own archive in upstream's shapes (tests/fakes/published_release.py), served
as https://github.com/... on loopback.
"""

# ruff: noqa: F401, F811 (the network fixture is imported from fakes.https_proxy, used as a parameter)
from __future__ import annotations

import base64
import json
import subprocess
import tarfile
import uuid
from io import BytesIO
from pathlib import Path
from typing import Any

import bcrypt
import pytest
import yaml
from fakes.https_proxy import Network, network
from fakes.published_release import CLIENT_SECRET, KATIB_DB, PUBLISHED, RELEASE, TOP, UPSTREAM

from kfdeploy.kube.client import Cluster
from kfdeploy.tools import find_tool, tool_env

from .conftest import cli_run

PATHS = {"namespaces": "common/kubeflow-namespace", "istio": "common/istio", "auth": ["common/oauth2-proxy", "common/dex"],
         "katib": "apps/katib", "pipelines": "apps/pipeline"}


def write_spec(folder: Path, name: str) -> Path:
    apps = [{"name": n, "kustomize": {"repo": "manifests", "path": p},
             **({"dependsOn": ["namespaces"]} if n in ("katib", "pipelines") else {})} for n, p in PATHS.items()]
    spec = folder / "kfdef.yaml"
    spec.write_text(yaml.safe_dump({"apiVersion": "kfdef.apps.kubeflow.org/v1", "kind": "KfDef",
                                    "metadata": {"name": name},
                                    "spec": {"platform": {"kind": "kwok"},
                                             "repos": [{"name": "manifests", "uri": RELEASE}],
                                             "applications": apps}}))
    return spec


def official_install(cluster: Any, folder: Path) -> None:
    """What upstream's README does, path by path: kustomize build, then server-side apply."""
    with tarfile.open(fileobj=BytesIO(UPSTREAM)) as tar:
        tar.extractall(folder, filter="data")
    kubectl = str(find_tool("kubectl"))
    for paths in PATHS.values():
        for path in [paths] if isinstance(paths, str) else paths:
            built = subprocess.run([kubectl, "kustomize", str(folder / TOP / path)], check=True,
                                   capture_output=True, text=True, env=tool_env()).stdout
            subprocess.run([kubectl, "--kubeconfig", str(cluster.kubeconfig), "apply", "--server-side", "-f", "-"],
                           input=built, check=True, capture_output=True, text=True, env=tool_env())


def secret_values(kube: Cluster, namespace: str, prefix: str) -> dict[str, str]:
    (found,) = [s for s in kube.list("v1", "Secret", namespace=namespace) if s["metadata"]["name"].startswith(prefix)]
    return {k: base64.b64decode(v).decode() for k, v in (found.get("data") or {}).items()}


def template_annotations(kube: Cluster, namespace: str, name: str) -> dict[str, str]:
    obj = kube.get({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": namespace}})
    assert obj is not None
    return dict(obj["spec"]["template"]["metadata"].get("annotations") or {})


def test_an_official_install_moves_to_generated_credentials_and_keeps_its_database_password(
        cluster: Any, network: Network, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")  # the API server is local; github.com is the proxy's
    network.origin.add(RELEASE, UPSTREAM)
    name = f"release-{uuid.uuid4().hex[:6]}"
    spec = write_spec(tmp_path, name)
    kube = Cluster.connect(cluster.kubeconfig, cluster.context)
    official_install(cluster, tmp_path / "official")
    assert secret_values(kube, "auth", "dex-oidc-client")["OIDC_CLIENT_SECRET"] == CLIENT_SECRET
    try:
        # the official loop's kubectl owns every field it applied (stringData included): taken over
        # (the values are chosen and stored before the first change: the retry keeps them)
        code, out, err = cli_run(cluster, "apply", "-f", str(spec), "--yes")
        assert code == 1 and "conflict with \"kubectl\"" in err and "--force-conflicts" in err, err
        said = out + err
        code, out, err = cli_run(cluster, "apply", "-f", str(spec), "--yes", "--force-conflicts")
        assert code == 0, err
        said += out + err
        assert "kept release.katibMysqlPassword from Secret kubeflow/katib-mysql-secrets" in said
        assert "kept release.pipelinesMysqlPassword from Secret kubeflow/mysql-secret" in said
        assert "Secret auth/dex-passwords (application auth) in place of the value its release publishes" in said
        assert f"kfdeploy credentials -f {spec}" in said

        code, out, err = cli_run(cluster, "credentials", "-f", str(spec), "-o", "json")
        assert code == 0, err
        login = json.loads(out)
        assert login["user"] == "user@example.com" and len(login["password"]) >= 16
        dex_hash = secret_values(kube, "auth", "dex-passwords")["DEX_USER_PASSWORD"]
        assert bcrypt.checkpw(login["password"].encode(), dex_hash.encode())
        dex_client = secret_values(kube, "auth", "dex-oidc-client")
        proxy = secret_values(kube, "oauth2-proxy", "oauth2-proxy-")
        assert dex_client["OIDC_CLIENT_SECRET"] == proxy["client-secret"]
        assert proxy["client-id"] == dex_client["OIDC_CLIENT_ID"]
        assert not {dex_client["OIDC_CLIENT_SECRET"], proxy["cookie-secret"], dex_hash} & set(PUBLISHED)
        assert secret_values(kube, "kubeflow", "katib-mysql-secrets")["MYSQL_ROOT_PASSWORD"] == KATIB_DB
        # Pipelines' MySQL was initialised without a root password: it stays so, as its server is told
        assert secret_values(kube, "kubeflow", "mysql-secret")["password"] == ""
        mysql = kube.get({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "mysql",
                                                                                      "namespace": "kubeflow"}})
        assert mysql is not None
        assert [e["name"] for e in mysql["spec"]["template"]["spec"]["containers"][0]["env"]] == [
            "MYSQL_ALLOW_EMPTY_PASSWORD"]
        for ns, deployment in (("auth", "dex"), ("oauth2-proxy", "oauth2-proxy")):
            assert "kfdeploy.io/secrets-checksum" in template_annotations(kube, ns, deployment)
        generated = [login["password"], dex_client["OIDC_CLIENT_SECRET"], proxy["cookie-secret"], dex_hash]
        assert not [v for v in generated if v in said]  # only `credentials` prints the login

        code, out, err = cli_run(cluster, "apply", "-f", str(spec), "--yes", "-o", "json")
        assert code == 0, err
        assert {a["outcome"] for a in json.loads(out)["applications"]} == {"unchanged"}
        assert "in place of the value" not in out + err  # said once, when generated
        assert json.loads(cli_run(cluster, "credentials", "-f", str(spec), "-o", "json")[1]) == login
        code, out, err = cli_run(cluster, "plan", "-f", str(spec))
        assert code == 0, out + err
    finally:
        cli_run(cluster, "delete", "-f", str(spec), "--yes", "--delete-namespaces")
        kube.delete({"apiVersion": "v1", "kind": "Secret",
                     "metadata": {"name": f"kfdeploy.{name}.credentials", "namespace": "kfdeploy-system"}})
