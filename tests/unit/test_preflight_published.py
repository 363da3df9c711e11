"""Preflight's credentials check: Secrets whose values a downloaded source publishes.

A release archive of our own (served as https://github.com/... on loopback) holds the two
patterns the official releases use: a ``secretGenerator`` literal in a kustomization and a plain
Secret file with base64 data; a remote base brings a third. A Secret set from ``spec.secrets``
through ``postRender``, one in the user's own files, and a credential kfdeploy generates for a
library component are not reported; no value ever reaches a finding.
"""

# ruff: noqa: F401, F811 (the network fixture is imported from fakes.https_proxy, used as a parameter)
from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from fakes.https_proxy import Network, network
from test_kustomize import needs_kubectl
from test_remote import kustomization, tarball, write_tree
from test_render import make_spec

from kfdeploy.cli import cli
from kfdeploy.credentials import Credentials
from kfdeploy.library import Library
from kfdeploy.preflight import published
from kfdeploy.render import render

RELEASE = "https://github.com/example-org/manifests/archive/v1.0.tar.gz"
STORE = "https://github.com/example-org/store/archive/v3.tar.gz"
CLIENT_SECRET = "published-client-secret-1"
USER_HASH = "$2y$12$publishedhashpublishedhashpublishedhashpublishedhash"
DB_PASSWORD = "published-db-password"
STORE_KEY = "published-store-key"
OWN_VALUE = "a-value-of-my-own"
CHOSEN = "chosen-by-the-user-42"
VALUES = (CLIENT_SECRET, USER_HASH, DB_PASSWORD, STORE_KEY, OWN_VALUE, CHOSEN)


def secret(name: str, **fields: Any) -> str:
    return yaml.safe_dump({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name}, **fields})


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


NO_SUFFIX = {"generatorOptions": {"disableNameSuffixHash": True}}
UPSTREAM = {
    RELEASE: tarball("manifests-1.0", {
        "auth/kustomization.yaml": kustomization(
            "passwords.yaml", namespace="auth",
            secretGenerator=[{"name": "oidc-client", "literals": [f"CLIENT_SECRET={CLIENT_SECRET}"]}], **NO_SUFFIX),
        "auth/passwords.yaml": secret("dex-passwords", data={"hash": b64(USER_HASH)}),
        "db/kustomization.yaml": kustomization("secret.yaml", namespace="db"),
        "db/secret.yaml": secret("db-secret", stringData={"password": DB_PASSWORD})}),
    STORE: tarball("store-3", {"base/kustomization.yaml": kustomization("secret.yaml", namespace="store"),
                               "base/secret.yaml": secret("store-key", data={"key": b64(STORE_KEY)})}),
}
POST_RENDER = """function(objects, params) [
  if o.kind == 'Secret' then o { stringData: { password: params.password } } else o for o in objects]
"""
COMPONENT = """function(params) [{apiVersion: 'v1', kind: 'Secret', metadata: {name: 'vault-token'},
  stringData: {token: params.token}}]
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return write_tree(tmp_path / "project", {
        "store/kustomization.yaml": kustomization("https://github.com/example-org/store//base?ref=v3", "own.yaml"),
        "store/own.yaml": secret("own-secret", stringData={"value": OWN_VALUE}),
        "post.jsonnet": POST_RENDER})


@pytest.fixture
def lib(tmp_path: Path) -> Library:
    """One library component that declares a generated credential."""
    repo = Path(__file__).resolve().parents[2]
    write_tree(tmp_path / "lib", {
        "jsonnet/components/vault/main.jsonnet": COMPONENT,
        "jsonnet/components/vault/component.yaml": yaml.safe_dump({
            "description": "vault", "enabledByDefault": True, "dependsOn": [],
            "params": {"token": {"type": "string", "default": "", "doc": "t"}},
            "credentials": {"token": {"length": 24}}})})
    (tmp_path / "lib" / "jsonnet" / "lib").symlink_to(repo / "jsonnet" / "lib")
    return Library.load(tmp_path / "lib")


def spec_of(project: Path) -> Any:
    return make_spec({
        "repos": [{"name": "release", "uri": RELEASE}],
        "secrets": [{"name": "db-pass", "secretSource": {"literalSource": {"value": CHOSEN}}}],
        "applications": [
            {"name": "auth", "kustomize": {"repo": "release", "path": "auth"}},
            {"name": "db", "kustomize": {"repo": "release", "path": "db"}, "postRender": "post.jsonnet",
             "params": {"password": {"secretRef": "db-pass"}}},
            {"name": "store", "kustomize": {"path": "store"}},
            {"name": "vault"}]}, project)


@needs_kubectl
def test_published_values_are_warned_naming_object_and_source_never_the_value(
        network: Network, project: Path, lib: Library) -> None:
    for url, body in UPSTREAM.items():
        network.origin.add(url, body)
    spec = spec_of(project)
    rendered = render(spec, lib, credentials=Credentials({}))  # as apply renders: real values
    shown = {o["metadata"]["name"]: o for o in rendered.objects if o["kind"] == "Secret"}
    assert set(shown) == {"oidc-client", "dex-passwords", "db-secret", "store-key", "own-secret", "vault-token"}

    found = published.findings(spec, rendered)
    warned = {f.object: f for f in found if f.status == "WARN"}
    assert set(warned) == {"Secret/auth/oidc-client", "Secret/auth/dex-passwords", "Secret/store/store-key"}
    assert all(f.status == "WARN" for f in found)
    assert RELEASE in warned["Secret/auth/oidc-client"].message and "CLIENT_SECRET" in warned[
        "Secret/auth/oidc-client"].message
    assert RELEASE in warned["Secret/auth/dex-passwords"].message
    assert "https://github.com/example-org/store" in warned["Secret/store/store-key"].message
    assert all("postRender of application" in f.fix for f in found)
    text = json.dumps([f.to_data() for f in found]) + "\n".join(f.line() for f in found)
    rendered_values = [v for o in shown.values() for v in [*(o.get("data") or {}).values(),
                                                           *(o.get("stringData") or {}).values()]]
    assert not [v for v in [*VALUES, *rendered_values] if v in text]


@needs_kubectl
def test_nothing_published_is_one_ok(network: Network, project: Path, lib: Library) -> None:
    for url, body in UPSTREAM.items():
        network.origin.add(url, body)
    spec = make_spec({"repos": [{"name": "release", "uri": RELEASE}], "applications": [
        {"name": "db", "kustomize": {"repo": "release", "path": "db"}, "postRender": "post.jsonnet",
         "params": {"password": "rotated-by-hand"}}, {"name": "vault"}]}, project)
    found = published.findings(spec, render(spec, lib, credentials=Credentials({})))
    assert [(f.status, f.check) for f in found] == [("OK", "credentials")]
    assert "1 rendered from downloaded sources" in found[0].message


@needs_kubectl
def test_export_prints_the_same_warnings_without_values(network: Network, project: Path) -> None:
    for url, body in UPSTREAM.items():
        network.origin.add(url, body)
    (project / "kfdef.yaml").write_text(yaml.safe_dump({
        "apiVersion": "kfdef.apps.kubeflow.org/v1", "kind": "KfDef", "metadata": {"name": "t"},
        "spec": {"platform": {"kind": "kwok"}, "repos": [{"name": "release", "uri": RELEASE}],
                 "applications": [{"name": "auth", "kustomize": {"repo": "release", "path": "auth"}}]}}))
    args = ["export", "--format", "flux", "-d", str(project / "repo"), "-f", str(project / "kfdef.yaml")]
    text = CliRunner().invoke(cli, args)
    as_json = CliRunner().invoke(cli, [*args, "-o", "json"])
    assert text.exit_code == 0 and as_json.exit_code == 0, text.output + as_json.output
    warnings = json.loads(as_json.stdout)["warnings"]
    assert {w["object"] for w in warnings} == {"Secret/auth/oidc-client", "Secret/auth/dex-passwords"}
    assert all(w["check"] == "credentials" and RELEASE in w["message"] for w in warnings)
    assert all(f"WARN  credentials {w['object']}: " in text.stdout for w in warnings)
    assert not [v for v in (CLIENT_SECRET, USER_HASH, b64(USER_HASH)) if v in text.output + as_json.output]
