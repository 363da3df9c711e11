"""The official releases' published credentials, replaced by generated ones (render.published).

A release archive of our own (served as https://github.com/... on loopback) holds the Secrets
of kubeflow/manifests in the shapes upstream writes them: dex's password hash in a Secret file
(``stringData``), its OIDC client from a ``secretGenerator`` env file, oauth2-proxy's client and
cookie secrets as ``secretGenerator`` literals (with the name hash suffix), Katib's MySQL
password as base64 ``data``, Pipelines' object store keys and MySQL user. The values are our
own; the names, keys and namespaces are upstream's.
"""

# ruff: noqa: F401, F811 (the network fixture is imported from fakes.https_proxy, used as a parameter)
from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from fakes.https_proxy import Network, network
from fakes.published_release import CLIENT_ID, KATIB_DB, PUBLISHED, RELEASE, UPSTREAM, b64
from test_kustomize import needs_kubectl
from test_remote import write_tree
from test_render import make_spec

from kfdeploy.credentials import Credentials, hash_matches
from kfdeploy.library import Library
from kfdeploy.preflight import published as check
from kfdeploy.render import render
from kfdeploy.render.process import SECRETS_CHECKSUM
from kfdeploy.render.published import RELEASE_SECRETS

POST_RENDER = """function(objects, params) [
  if o.kind == 'Secret' && o.metadata.name == 'katib-mysql-secrets'
  then o { data: { MYSQL_ROOT_PASSWORD: std.base64(params.password) } } else o for o in objects]
"""


@pytest.fixture
def release(network: Network, tmp_path: Path) -> Path:
    network.origin.add(RELEASE, UPSTREAM)
    return write_tree(tmp_path / "project", {"post.jsonnet": POST_RENDER})


def spec_of(project: Path, **katib: Any) -> Any:
    return make_spec({
        "repos": [{"name": "manifests", "uri": RELEASE}],
        "secrets": [{"name": "katib-db", "secretSource": {"literalSource": {"value": "chosen-by-the-user-42"}}}],
        "applications": [
            {"name": "auth", "kustomize": {"repo": "manifests", "path": ["common/oauth2-proxy", "common/dex"]}},
            {"name": "katib", "kustomize": {"repo": "manifests", "path": "apps/katib"}, **katib},
            {"name": "pipelines", "kustomize": {"repo": "manifests", "path": "apps/pipeline"}}]}, project)


def secrets(rendered: Any) -> dict[str, dict[str, str]]:
    """namespace/name -> every value, decoded, whatever field it is in."""
    out: dict[str, dict[str, str]] = {}
    for o in rendered.objects:
        if o["kind"] == "Secret":
            values = {k: base64.b64decode(v).decode() for k, v in (o.get("data") or {}).items()}
            out[f"{o['metadata']['namespace']}/{o['metadata']['name']}"] = {**values, **(o.get("stringData") or {})}
    return out


def by_prefix(found: dict[str, dict[str, str]], prefix: str) -> dict[str, str]:
    (name,) = [n for n in found if n.startswith(prefix)]
    return found[name]


def mysql_env(rendered: Any) -> list[dict[str, Any]]:
    (mysql,) = [o for o in rendered.objects if o["kind"] == "Deployment" and o["metadata"]["name"] == "mysql"]
    return list(mysql["spec"]["template"]["spec"]["containers"][0]["env"])


def every_form(values: tuple[str, ...]) -> list[str]:
    return [f for v in values for f in (v, b64(v))]


@needs_kubectl
def test_offline_render_has_placeholders_and_no_published_credential(release: Path) -> None:
    rendered = render(spec_of(release), Library.load())  # build, export: no cluster
    text = json.dumps(rendered.objects)
    assert not [v for v in every_form(PUBLISHED) if v in text]
    found = secrets(rendered)
    # dex and oauth2-proxy name the same placeholder, so an engine seeds one value for both
    assert found["auth/dex-oidc-client"]["OIDC_CLIENT_SECRET"] == by_prefix(found, "oauth2-proxy/oauth2-proxy-")[
        "client-secret"]
    assert all(v.startswith("<generated:release.") for v in (
        found["auth/dex-passwords"]["DEX_USER_PASSWORD"], found["kubeflow/katib-mysql-secrets"]["MYSQL_ROOT_PASSWORD"],
        found["kubeflow/mlpipeline-minio-artifact"]["secretkey"]))
    # identifiers are no credentials: kept as the release writes them
    assert found["auth/dex-oidc-client"]["OIDC_CLIENT_ID"] == CLIENT_ID
    assert found["kubeflow/mlpipeline-minio-artifact"]["accesskey"] == "store-user"
    assert found["kubeflow/mysql-secret"] == {"username": "root", "password": "<generated:release.pipelinesMysqlPassword>"}
    # MySQL initialises root with it instead of no password; its clients read the Secret already
    assert mysql_env(rendered) == [{"name": "MYSQL_ROOT_PASSWORD", "valueFrom": {
        "secretKeyRef": {"name": "mysql-secret", "key": "password"}}}]


@needs_kubectl
def test_first_apply_generates_consistent_values_that_later_applies_keep(release: Path) -> None:
    spec = spec_of(release)
    first = Credentials({})  # a fresh cluster: nothing stored
    rendered = render(spec, Library.load(), credentials=first)
    found = secrets(rendered)
    password = first.values["release.dexUserPassword"]
    assert hash_matches(password, found["auth/dex-passwords"]["DEX_USER_PASSWORD"])
    oauth2 = by_prefix(found, "oauth2-proxy/oauth2-proxy-")
    assert found["auth/dex-oidc-client"]["OIDC_CLIENT_SECRET"] == oauth2["client-secret"]
    assert len(oauth2["cookie-secret"]) in (16, 24, 32)  # what oauth2-proxy accepts
    assert oauth2["client-id"] == CLIENT_ID
    generated = [found["kubeflow/katib-mysql-secrets"]["MYSQL_ROOT_PASSWORD"],
                 found["kubeflow/mlpipeline-minio-artifact"]["secretkey"], oauth2["cookie-secret"], password,
                 found["kubeflow/mysql-secret"]["password"]]
    assert len(set(generated)) == 5 and not set(generated) & set(PUBLISHED) and all(len(v) >= 24 for v in generated)
    assert {r.secret for r in rendered.replaced} >= {"auth/dex-passwords", "auth/dex-oidc-client",
                                                      "kubeflow/katib-mysql-secrets"}
    # the pods that read them roll when one changes
    deployments = {o["metadata"]["name"]: o for o in rendered.objects if o["kind"] == "Deployment"}
    assert all(SECRETS_CHECKSUM in d["spec"]["template"]["metadata"].get("annotations", {})
               for d in deployments.values())

    again = render(spec, Library.load(), credentials=Credentials(first.merged()))  # the next apply
    assert secrets(again) == found
    assert json.dumps(again.objects, sort_keys=True) == json.dumps(rendered.objects, sort_keys=True)


@needs_kubectl
def test_a_value_the_user_sets_is_kept(release: Path) -> None:
    spec = spec_of(release, postRender="post.jsonnet", params={"password": {"secretRef": "katib-db"}})
    credentials = Credentials({})
    rendered = render(spec, Library.load(), credentials=credentials)
    assert secrets(rendered)["kubeflow/katib-mysql-secrets"]["MYSQL_ROOT_PASSWORD"] == "chosen-by-the-user-42"
    assert "release.katibMysqlPassword" not in credentials.values
    assert [f for f in check.findings(spec, rendered) if f.status != "OK"] == []


@needs_kubectl
def test_a_database_password_of_an_earlier_install_is_adopted_and_still_warned(release: Path) -> None:
    live = {("kubeflow", "katib-mysql-secrets", "MYSQL_ROOT_PASSWORD"): KATIB_DB,
            ("kubeflow", "mysql-secret", "password"): ""}  # upstream's MySQL, initialised without one
    credentials = Credentials({}, live=lambda ns, name, key: live.get((ns, name, key)))
    spec = spec_of(release)
    rendered = render(spec, Library.load(), credentials=credentials)
    assert secrets(rendered)["kubeflow/katib-mysql-secrets"]["MYSQL_ROOT_PASSWORD"] == KATIB_DB
    assert secrets(rendered)["kubeflow/mysql-secret"]["password"] == ""
    assert mysql_env(rendered) == [{"name": "MYSQL_ALLOW_EMPTY_PASSWORD", "value": "true"}]
    assert sorted(credentials.adopted) == ["release.katibMysqlPassword from Secret kubeflow/katib-mysql-secrets",
                                           "release.pipelinesMysqlPassword from Secret kubeflow/mysql-secret"]
    warned = [f for f in check.findings(spec, rendered) if f.status != "OK"]
    assert [f.object for f in warned] == ["Secret/kubeflow/katib-mysql-secrets"]
    assert "change the password in the database" in warned[0].fix
    assert not [v for v in every_form(PUBLISHED) if v in json.dumps([f.to_data() for f in warned])]


def test_the_table_names_each_credential_once_and_identifiers_apart() -> None:
    for known in RELEASE_SECRETS:
        assert not set(known.credentials) & set(known.identifiers), known.name
    params: dict[str, Any] = {}
    for known in RELEASE_SECRETS:
        for decl in known.credentials.values():
            assert params.setdefault(decl.param, decl) == decl, f"{decl.param} declared two ways"


@needs_kubectl
def test_export_seeds_the_replaced_secrets_and_writes_no_published_value(release: Path) -> None:
    from click.testing import CliRunner

    from kfdeploy.cli import cli
    (release / "kfdef.yaml").write_text(yaml.safe_dump({
        "apiVersion": "kfdef.apps.kubeflow.org/v1", "kind": "KfDef", "metadata": {"name": "t"},
        "spec": {"platform": {"kind": "kwok"}, "repos": [{"name": "manifests", "uri": RELEASE}],
                 "applications": [{"name": "auth", "kustomize": {"repo": "manifests", "path": [
                     "common/oauth2-proxy", "common/dex"]}}]}}))
    tree = release / "repo"
    result = CliRunner().invoke(cli, ["export", "--format", "flux", "-d", str(tree), "-f",
                                      str(release / "kfdef.yaml"), "-o", "json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["warnings"] == []
    files = {p: p.read_text() for p in tree.rglob("*") if p.is_file()}
    text = "\n".join(files.values())
    assert not [v for v in every_form(PUBLISHED) if v in text]
    # the three Secrets go to the cluster by `credentials seed`, not to Git; the identifiers'
    # Deployments that read them do
    written = [d for p, t in files.items() if p.suffix == ".yaml" for d in yaml.safe_load_all(t) if isinstance(d, dict)]
    assert not [d for d in written if d.get("kind") == "Secret"]
    assert {d["metadata"]["name"] for d in written if d.get("kind") == "Deployment"} == {"dex", "oauth2-proxy"}
