"""A release archive of our own with the official releases' Secrets in the shapes
kubeflow/manifests writes them: dex's password hash in a Secret file (``stringData``), its OIDC
client from a ``secretGenerator`` env file, oauth2-proxy's client and cookie secrets as
``secretGenerator`` literals (with the name hash suffix), Katib's MySQL password as base64
``data``, Pipelines' object store keys and its MySQL user, whose password is empty (the MySQL
Deployment allows it). The values are our own; the names, keys
and namespaces are upstream's, as are the Deployments that read them."""

from __future__ import annotations

import base64
from typing import Any

import yaml
from fakes.archives import kustomization, tarball


def namespace(name: str) -> str:
    return yaml.safe_dump({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})


RELEASE = "https://github.com/example-org/manifests/archive/v9.tar.gz"
TOP = "manifests-9"
CLIENT_ID = "example-oidc-client"
CLIENT_SECRET = "published-oidc-secret-0123456789"
COOKIE = "published-cookie-0123456789abcde"
USER_HASH = "$2y$12$publishedhashpublishedhashpublishedhashpublishedhash"
KATIB_DB = "published-katib-db"
STORE_SECRET = "published-store-secret"
PUBLISHED = (CLIENT_SECRET, COOKIE, USER_HASH, KATIB_DB, STORE_SECRET)
NO_SUFFIX = {"generatorOptions": {"disableNameSuffixHash": True}}


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def secret(name: str, **fields: Any) -> str:
    return yaml.safe_dump({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name}, **fields})


def deployment(name: str, **container: Any) -> str:
    return yaml.safe_dump({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
                           "spec": {"selector": {"matchLabels": {"app": name}}, "template": {
                               "metadata": {"labels": {"app": name}},
                               "spec": {"containers": [{"name": name, "image": f"example.org/{name}:1",
                                                        **container}]}}}})


def key_ref(secret_name: str, key: str) -> dict[str, Any]:
    return {"valueFrom": {"secretKeyRef": {"name": secret_name, "key": key}}}


FILES = {
    "common/dex/kustomization.yaml": kustomization(
        "namespace.yaml", "dex-passwords.yaml", "deployment.yaml", namespace="auth",
        secretGenerator=[{"name": "dex-oidc-client", "envs": ["secret_params.env"]}], **NO_SUFFIX),
    "common/dex/namespace.yaml": namespace("auth"),
    "common/dex/dex-passwords.yaml": secret("dex-passwords", stringData={"DEX_USER_PASSWORD": USER_HASH}),
    "common/dex/secret_params.env": f"OIDC_CLIENT_ID={CLIENT_ID}\nOIDC_CLIENT_SECRET={CLIENT_SECRET}\n",
    "common/dex/deployment.yaml": deployment("dex", envFrom=[{"secretRef": {"name": "dex-oidc-client"}},
                                                             {"secretRef": {"name": "dex-passwords"}}]),
    "common/oauth2-proxy/kustomization.yaml": kustomization(
        "namespace.yaml", "deployment.yaml", namespace="oauth2-proxy", secretGenerator=[{"name": "oauth2-proxy", "literals": [
            f"client-id={CLIENT_ID}", f"client-secret={CLIENT_SECRET}", f"cookie-secret={COOKIE}"]}]),
    "common/oauth2-proxy/namespace.yaml": namespace("oauth2-proxy"),
    "common/oauth2-proxy/deployment.yaml": deployment("oauth2-proxy", env=[
        {"name": "OAUTH2_PROXY_CLIENT_SECRET", **key_ref("oauth2-proxy", "client-secret")},
        {"name": "OAUTH2_PROXY_COOKIE_SECRET", **key_ref("oauth2-proxy", "cookie-secret")}]),
    "common/istio/kustomization.yaml": kustomization("namespace.yaml", "gateway.yaml", namespace="istio-system"),
    "common/istio/namespace.yaml": namespace("istio-system"),
    "common/istio/gateway.yaml": yaml.safe_dump({
        "apiVersion": "v1", "kind": "Service", "metadata": {"name": "istio-ingressgateway"},
        "spec": {"selector": {"app": "istio-ingressgateway"}, "ports": [{"name": "http2", "port": 80}]}}),
    "common/kubeflow-namespace/kustomization.yaml": kustomization("namespace.yaml"),
    "common/kubeflow-namespace/namespace.yaml": namespace("kubeflow"),
    "apps/katib/kustomization.yaml": kustomization("secret.yaml", "db-manager.yaml", namespace="kubeflow"),
    "apps/katib/secret.yaml": secret("katib-mysql-secrets", data={"MYSQL_ROOT_PASSWORD": b64(KATIB_DB)}),
    "apps/katib/db-manager.yaml": deployment("katib-db-manager", env=[
        {"name": "DB_PASSWORD", **key_ref("katib-mysql-secrets", "MYSQL_ROOT_PASSWORD")}]),
    "apps/pipeline/kustomization.yaml": kustomization("secrets.yaml", "mysql.yaml", "apiserver.yaml",
                                                      namespace="kubeflow"),
    "apps/pipeline/mysql.yaml": deployment("mysql", env=[{"name": "MYSQL_ALLOW_EMPTY_PASSWORD", "value": "true"}]),
    "apps/pipeline/apiserver.yaml": deployment("ml-pipeline", env=[
        {"name": "DBCONFIG_USER", **key_ref("mysql-secret", "username")},
        {"name": "DBCONFIG_PASSWORD", **key_ref("mysql-secret", "password")}]),
    "apps/pipeline/secrets.yaml": secret("mlpipeline-minio-artifact", stringData={
        "accesskey": "store-user", "secretkey": STORE_SECRET}) + "---\n" + secret(
        "mysql-secret", stringData={"username": "root", "password": ""}),
}
UPSTREAM = tarball(TOP, FILES)
