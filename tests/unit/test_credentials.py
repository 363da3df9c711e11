"""Generated credentials: the library ships no well-known value, values are chosen once and
kept, the spec's own values win, and build output never carries one."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import bcrypt
import pytest
import yaml
from click.testing import CliRunner

from kfdeploy.cli import cli
from kfdeploy.credentials import CHECKSUM_KEY, CredentialDecl, Credentials, checksum
from kfdeploy.errors import RenderError
from kfdeploy.library import Library, default_root, load_component
from kfdeploy.render import process, render
from kfdeploy.spec import KfDef

ROOT = default_root()
COMPONENTS = sorted(d.name for d in (ROOT / "jsonnet" / "components").iterdir() if (d / "main.jsonnet").exists())
OVERLAYS = [None] + sorted(p.stem for p in (ROOT / "overlays").glob("*.yaml"))

# Demo values of the upstream release and of earlier library versions: none may ship again.
WELL_KNOWN = [
    "12341234", "$2y$12$4K/VkmDd1q1Orb3xAt82zu8gk7Ad6ReFR4LCP9UeYE90NLiN9Df72",  # dex user@example.com
    "pUBnBOY80SnXgjibTYM9ZWNzY2xreNGQok",  # dex/oauth2-proxy OIDC client secret
    "7d16fee92f8dd47d2f1b3c4d5e6f7a8b",  # oauth2-proxy cookie secret
    "minio123", "test", "admin", "password", "changeme", "root",
]
# Secret keys that name an identity rather than prove it: the same on every install is fine.
IDENTIFIERS = {"username", "user", "client-id", "accesskey"}


@pytest.fixture(scope="module")
def library() -> Library:
    return Library.load(ROOT)


def spec_with(overlay: str | None = None, **extra: Any) -> KfDef:
    doc = {"apiVersion": "kfdef.apps.kubeflow.org/v1", "kind": "KfDef", "metadata": {"name": "lib"},
           "spec": {"platform": {"kind": "existing", "existing": {"context": "unused"}},
                    "overlays": [overlay] if overlay else [],
                    "applications": [{"name": c} for c in COMPONENTS], **extra}}
    return KfDef.model_validate(doc).with_origin("credentials-test", ROOT)


def secret_values(objects: list[dict[str, Any]]) -> dict[tuple[str, str, str], str]:
    """(namespace/name, key) -> decoded value of every Secret and ConfigMap entry, and every
    literal env value of every container."""
    out: dict[tuple[str, str, str], str] = {}
    for o in objects:
        where = f"{o['metadata'].get('namespace', '')}/{o['metadata']['name']}"
        if o["kind"] in ("Secret", "ConfigMap"):
            for k, v in (o.get("stringData") or {}).items():
                out[(o["kind"], where, k)] = str(v)
            for k, v in (o.get("data") or {}).items():
                out[(o["kind"], where, k)] = base64.b64decode(v).decode() if o["kind"] == "Secret" else str(v)
        template = process.pod_template(o) or {}
        for c in (template.get("spec") or {}).get("containers") or []:
            for e in c.get("env") or []:
                if "value" in e:
                    out[(o["kind"], where, e["name"])] = str(e["value"])
    return out


def install(library: Library, overlay: str | None = None) -> tuple[list[dict[str, Any]], Credentials]:
    """A render as a first apply does it: nothing stored yet."""
    creds = Credentials({})
    return render(spec_with(overlay), library, credentials=creds).objects, creds


@pytest.mark.parametrize("overlay", OVERLAYS, ids=[o or "defaults" for o in OVERLAYS])
def test_no_well_known_value_anywhere(library: Library, overlay: str | None) -> None:
    objects, _ = install(library, overlay)
    for (kind, where, key), value in secret_values(objects).items():
        if kind == "Secret" and key.lower() not in IDENTIFIERS:
            assert value not in WELL_KNOWN, f"Secret {where} key {key} holds a well-known value"
    text = json.dumps(objects)
    for value in WELL_KNOWN[:4]:  # nowhere at all: not in ConfigMaps, env or args either
        assert value not in text


def test_every_secret_value_differs_between_installs(library: Library) -> None:
    """Two first installs share no credential: every Secret entry that proves an identity is
    chosen per install (an empty value proves nothing either)."""
    first, second = (secret_values(install(library)[0]) for _ in range(2))
    secrets = [k for k in first if k[0] == "Secret" and k[2].lower() not in IDENTIFIERS]
    assert secrets, "the library renders Secrets"
    for key in secrets:
        assert first[key] and first[key] != second[key], f"{key[1]} {key[2]} is the same on every install"


def test_dex_hash_accepts_the_generated_password(library: Library) -> None:
    objects, creds = install(library)
    values = secret_values(objects)
    hashed = next(v for (kind, _, k), v in values.items() if kind == "Secret" and k == "DEX_USER_PASSWORD")
    password = creds.values["auth.userPassword"]
    assert bcrypt.checkpw(password.encode(), hashed.encode())
    assert password not in json.dumps(objects)  # only its hash is rendered


def test_re_render_from_the_store_keeps_every_value(library: Library) -> None:
    objects, creds = install(library)
    again = Credentials(creds.merged())
    assert render(spec_with(), library, credentials=again).objects == objects
    assert not again.changed()


def test_spec_secrets_win_and_rotate_the_readers(library: Library) -> None:
    objects, creds = install(library)
    stored = creds.merged()
    secrets = [{"name": "pw", "secretSource": {"literalSource": {"value": "Mine-4-Dashboard"}}}]
    spec = spec_with(secrets=secrets)
    spec.spec.params["auth"] = {"userPassword": {"secretRef": "pw"}}
    again = Credentials(stored)
    rotated = render(spec, library, credentials=again).objects
    assert again.changed() and again.values["auth.userPassword"] == "Mine-4-Dashboard"
    dex_secret = next(v for (kind, _, k), v in secret_values(rotated).items() if k == "DEX_USER_PASSWORD")
    assert bcrypt.checkpw(b"Mine-4-Dashboard", dex_secret.encode())

    def dex_annotation(objs: list[dict[str, Any]]) -> str:
        dex = next(o for o in objs if o["kind"] == "Deployment" and o["metadata"]["name"] == "dex")
        return str(dex["spec"]["template"]["metadata"]["annotations"][process.SECRETS_CHECKSUM])
    assert dex_annotation(rotated) != dex_annotation(objects)
    oauth2 = [o for o in rotated if o["metadata"]["name"] == "oauth2-proxy" and o["kind"] == "Deployment"]
    assert oauth2 == [o for o in objects if o["metadata"]["name"] == "oauth2-proxy" and o["kind"] == "Deployment"]


def test_build_output_has_placeholders_not_values(tmp_path: Path) -> None:
    spec = yaml.safe_load((ROOT / "kfdef.yaml").read_text())
    spec["spec"]["secrets"] = [{"name": "client", "secretSource": {"literalSource": {"value": "Zx81-client-secret"}}}]
    spec["spec"]["params"] = {"auth": {"oidcClientSecret": {"secretRef": "client"}}}
    path = tmp_path / "kfdef.yaml"
    path.write_text(yaml.safe_dump(spec))
    result = CliRunner().invoke(cli, ["build", "-f", str(path), "-d", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    text = "".join(p.read_text() for p in sorted((tmp_path / "out").glob("*.yaml")))
    assert "Zx81-client-secret" not in text and base64.b64encode(b"Zx81-client-secret").decode() not in text
    assert "<secret:client>" in text and "<generated:auth.cookieSecret>" in text


# --- the mechanism on its own ------------------------------------------------------------------

DECLS = (CredentialDecl("password", 20), CredentialDecl("hash", bcrypt="password"), CredentialDecl("token", 40))


def test_fill_generates_once_and_keeps() -> None:
    first = Credentials({})
    params = first.fill("app", DECLS, {"password": "", "hash": "", "token": "", "other": 1})
    assert len(params["password"]) == 20 and len(params["token"]) == 40 and params["other"] == 1
    assert bcrypt.checkpw(params["password"].encode(), params["hash"].encode())
    assert first.changed() and set(first.values) == {"app.password", "app.hash", "app.token"}
    second = Credentials(first.merged())
    assert second.fill("app", DECLS, {"password": "", "hash": "", "token": ""}) == \
        {k: params[k] for k in ("password", "hash", "token")}
    assert not second.changed()


def test_fill_prefers_the_spec_and_rehashes_a_new_password() -> None:
    first = Credentials({})
    old = first.fill("app", DECLS, {"password": "", "hash": "", "token": ""})
    later = Credentials(first.merged())
    new = later.fill("app", DECLS, {"password": "given-password", "hash": "", "token": ""})
    assert new["password"] == "given-password" and new["token"] == old["token"]
    assert bcrypt.checkpw(b"given-password", new["hash"].encode()) and later.changed()
    own_hash = Credentials(first.merged()).fill("app", DECLS, {"password": "", "hash": "$2b$10$own", "token": ""})
    assert own_hash["hash"] == "$2b$10$own"


def test_offline_fill_is_placeholders_only() -> None:
    offline = Credentials.offline()
    params = offline.fill("app", DECLS, {"password": "", "hash": "", "token": ""})
    assert params == {"password": "<generated:app.password>", "hash": "<generated:app.hash>",
                      "token": "<generated:app.token>"}
    assert offline.values == {} and not offline.changed()


def test_checksum_key_is_per_install_and_stored() -> None:
    a, b = Credentials({}), Credentials({})
    assert a.checksum_key() != b.checksum_key()
    assert Credentials({CHECKSUM_KEY: "k" * 32}).checksum_key() == b"k" * 32
    secret = [{"stringData": {"password": "hunter22"}}]
    assert "hunter22" not in checksum(b"key", secret) and checksum(b"key", secret) != checksum(b"other", secret)


def test_checksums_only_on_pods_that_read_a_rendered_secret() -> None:
    def deploy(name: str, volumes: list[Any], env: list[Any]) -> dict[str, Any]:
        return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": "ns"},
                "spec": {"template": {"metadata": {}, "spec": {
                    "containers": [{"name": "c", "image": "i", "env": env}], "volumes": volumes}}}}
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "namespace": "ns"},
              "stringData": {"k": "v1"}}
    objs = [secret, deploy("by-env", [], [{"name": "E", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}}]),
            deploy("by-volume", [{"name": "v", "secret": {"secretName": "s"}}], []),
            deploy("foreign", [{"name": "v", "secret": {"secretName": "cert-manager-made"}}], [])]
    out = process.with_secret_checksums(objs, b"key")
    notes = {o["metadata"]["name"]: o["spec"]["template"]["metadata"].get("annotations", {}) for o in out[1:]}
    assert process.SECRETS_CHECKSUM in notes["by-env"] and notes["by-env"] == notes["by-volume"]
    assert notes["foreign"] == {}
    changed = process.with_secret_checksums([{**secret, "stringData": {"k": "v2"}}] + objs[1:], b"key")
    assert changed[1]["spec"]["template"]["metadata"]["annotations"] != notes["by-env"]


@pytest.mark.parametrize(("credentials", "fragment"), [
    ({"pw": {"length": 8}}, "length must be an integer from 16 to 64"),
    ({"missing": {}}, "must be a string param with default"),
    ({"pw": {"bcrypt": "nothing"}}, "bcrypt 'nothing' must be a credential declared above it"),
    ({"pw": {"colour": 1}}, "takes length"),
    ({"pw": {"adopt": {"secret": "s"}}}, "adopt takes {secret: NAME, key: KEY}"),
], ids=["short", "undeclared-param", "bad-hash-source", "unknown-key", "adopt-without-key"])
def test_credential_declarations_are_checked(tmp_path: Path, credentials: dict[str, Any], fragment: str) -> None:
    (tmp_path / "main.jsonnet").write_text("function(params) []")
    (tmp_path / "component.yaml").write_text(yaml.safe_dump({
        "description": "x", "params": {"pw": {"type": "string", "default": "", "doc": "a password"}},
        "credentials": credentials}))
    with pytest.raises(RenderError, match=fragment):
        load_component(tmp_path)


def earlier_install(secrets: dict[tuple[str, str, str], str]) -> Any:
    """A live-Secret reader over what an install made before the credential store left."""
    return lambda namespace, name, key: secrets.get((namespace, name, key))


def test_an_earlier_install_keeps_the_database_passwords_its_data_was_made_with(library: Library) -> None:
    # Its MySQL volumes were initialised with these; a new password would lock the services out.
    before = {("kubeflow", "mysql-secret", "password"): "", ("kubeflow", "katib-mysql-secrets", "MYSQL_ROOT_PASSWORD"): "test"}
    creds = Credentials({}, live=earlier_install(before))
    objects = render(spec_with(), library, credentials=creds).objects
    values = secret_values(objects)
    assert values[("Secret", "kubeflow/mysql-secret", "password")] == ""
    assert values[("Secret", "kubeflow/katib-mysql-secrets", "MYSQL_ROOT_PASSWORD")] == "test"
    assert sorted(creds.adopted) == ["katib.mysqlPassword from Secret kubeflow/katib-mysql-secrets",
                                     "pipelines.mysqlPassword from Secret kubeflow/mysql-secret"]
    # Only what a database was initialised with is adopted: the rest is generated as on any install.
    fresh = Credentials({})
    render(spec_with(), library, credentials=fresh)
    assert {k for k in creds.values if creds.values[k] == fresh.values.get(k)} <= {CHECKSUM_KEY}
    # Stored once, kept from then on, the empty one included; the live Secret is not read again.
    again = Credentials(creds.merged(), live=earlier_install({}))
    assert render(spec_with(), library, credentials=again).objects == objects
    assert not again.changed() and again.adopted == []


def test_a_first_install_adopts_nothing(library: Library) -> None:
    creds = Credentials({}, live=earlier_install({}))
    values = secret_values(render(spec_with(), library, credentials=creds).objects)
    assert creds.adopted == []
    assert len(values[("Secret", "kubeflow/mysql-secret", "password")]) >= 16
