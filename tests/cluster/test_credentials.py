"""Generated credentials on the real local control plane: the default platform's login is
generated on the first apply, dex's configuration accepts it, a re-apply keeps it, a value in
spec.secrets rotates it (and restarts dex), and no output ever shows it."""

from __future__ import annotations

import base64
import json
import uuid
from pathlib import Path
from typing import Any

import bcrypt
import yaml

from kfdeploy.kube.client import Cluster

from .conftest import cli_run

REPO = Path(__file__).resolve().parents[2]


def write_spec(tmp_path: Path, name: str, password: str | None = None) -> Path:
    data = yaml.safe_load((REPO / "kfdef.yaml").read_text())
    data["metadata"]["name"] = name
    if password is not None:
        data["spec"]["secrets"] = [{"name": "login", "secretSource": {"literalSource": {"value": password}}}]
        data["spec"]["params"] = {"auth": {"userPassword": {"secretRef": "login"}}}
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


run = cli_run


def get(kube: Cluster, kind: str, namespace: str, name: str, api: str = "v1") -> dict[str, Any]:
    obj = kube.get({"apiVersion": api, "kind": kind, "metadata": {"name": name, "namespace": namespace}})
    assert obj is not None, f"{kind} {namespace}/{name} is missing"
    return obj


def dex_login(kube: Cluster) -> tuple[str, str, str]:
    """(email, bcrypt hash, pod-template checksum) as dex is configured: its config file names
    the environment variable of the hash, its Deployment says which Secret key fills it."""
    config = yaml.safe_load(get(kube, "ConfigMap", "auth", "dex")["data"]["config.yaml"])
    user = config["staticPasswords"][0]
    deployment = get(kube, "Deployment", "auth", "dex", "apps/v1")
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    ref = next(e["valueFrom"]["secretKeyRef"] for e in container["env"] if e["name"] == user["hashFromEnv"])
    hashed = base64.b64decode(get(kube, "Secret", "auth", ref["name"])["data"][ref["key"]]).decode()
    annotations = deployment["spec"]["template"]["metadata"].get("annotations") or {}
    return user["email"], hashed, annotations.get("kfdeploy.io/secrets-checksum", "")


def stored_values(kube: Cluster, name: str) -> list[str]:
    store = get(kube, "Secret", "kfdeploy-system", f"kfdeploy.{name}.credentials")
    return [base64.b64decode(v).decode() for v in store["data"].values()]


def test_generated_login_is_accepted_by_dex_and_kept(cluster: Any, tmp_path: Path):
    name = f"login-{uuid.uuid4().hex[:6]}"  # its own store: delete keeps a store on purpose
    spec = write_spec(tmp_path, name)
    code, out, err = run(cluster, "apply", "-f", str(spec), "--yes")
    assert code == 0, err
    assert f"kfdeploy credentials -f {spec}" in out

    code, out, err = run(cluster, "credentials", "-f", str(spec), "-o", "json")
    assert code == 0, err
    login = json.loads(out)
    assert set(login) == {"url", "user", "password"} and len(login["password"]) >= 16
    assert login["url"].startswith("http")
    kube = Cluster.connect(cluster.kubeconfig, cluster.context)
    email, hashed, checksum = dex_login(kube)
    assert email == login["user"]
    assert bcrypt.checkpw(login["password"].encode(), hashed.encode())

    # Nothing printed so far, nor a plan, carries a credential or its hash.
    secrets = stored_values(kube, name)
    assert login["password"] in secrets
    code, plan_out, plan_err = run(cluster, "plan", "-f", str(spec), "-vv")
    assert code == 0, plan_out
    code, build_out, build_err = run(cluster, "show", "-f", str(spec))
    for value in secrets:
        assert value not in plan_out + plan_err + build_out + build_err

    # A second apply keeps every value.
    code, out, err = run(cluster, "apply", "-f", str(spec), "--yes", "-o", "json")
    assert code == 0, err
    assert {a["outcome"] for a in json.loads(out)["applications"]} == {"unchanged"}
    assert json.loads(run(cluster, "credentials", "-f", str(spec), "-o", "json")[1]) == login
    assert dex_login(kube) == (email, hashed, checksum)
    assert stored_values(kube, name) == secrets

    # A password in spec.secrets wins: dex gets its hash and restarts; the plan shows no value.
    mine = write_spec(tmp_path, name, password="Chosen-by-the-user-42")
    code, out, err = run(cluster, "plan", "-f", str(mine))
    assert code == 2 and "Chosen-by-the-user-42" not in out + err
    code, out, err = run(cluster, "apply", "-f", str(mine), "--yes")
    assert code == 0, err
    assert "Chosen-by-the-user-42" not in out + err
    assert json.loads(run(cluster, "credentials", "-f", str(mine), "-o", "json")[1])["password"] == \
        "Chosen-by-the-user-42"
    _, new_hash, new_checksum = dex_login(kube)
    assert bcrypt.checkpw(b"Chosen-by-the-user-42", new_hash.encode()) and new_checksum != checksum

    code, _, err = run(cluster, "delete", "-f", str(mine), "--yes", "--delete-pvcs")
    assert code == 0, err
    assert "Chosen-by-the-user-42" in stored_values(kube, name)  # delete keeps the store (kept volumes open)
    kube.delete({"apiVersion": "v1", "kind": "Secret",
                 "metadata": {"name": f"kfdeploy.{name}.credentials", "namespace": "kfdeploy-system"}})


def test_credentials_an_earlier_install_kept_are_read_from_its_live_secret(cluster: Any, namespace: str):
    from kfdeploy.kube.credential_store import secret_reader
    kube = Cluster.connect(cluster.kubeconfig, cluster.context)
    kube.apply({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "mysql-secret", "namespace": namespace},
                "data": {"password": "", "username": base64.b64encode(b"root").decode()}})
    read = secret_reader(kube)
    assert read(namespace, "mysql-secret", "password") == ""  # empty, as upstream's default: kept
    assert read(namespace, "mysql-secret", "username") == "root"
    assert read(namespace, "mysql-secret", "absent-key") is None
    assert read(namespace, "no-such-secret", "password") is None
