"""Published credentials: Secret values a downloaded source writes in its own files, and the
ones kfdeploy replaces with credentials it generates.

The rule: a value of a rendered Secret (``data`` or ``stringData``) is *published* when it is
written, as it is or base64-encoded, in a file the build read from a download — a
``spec.repos`` archive URL (the official kubeflow/manifests release) or a remote base a
kustomization names: the kustomization itself (its ``secretGenerator`` literals) or a file it
names. A value from ``spec.secrets`` (through ``postRender``), a generated one, or one from the
user's own files is not in the download. Values are compared, never shown.

``RELEASE_SECRETS`` is what kfdeploy knows of the official releases' Secrets (facts of
kubeflow/manifests v1.10 to 26.03): which keys are credentials, replaced by generated ones when
their value is published (or, for Pipelines' MySQL, left empty: root without a password), and
which are identifiers that are not secret (a user or client name); ``ENV_SWAPS``, the workload
environment that must follow (MySQL told to initialise root with the generated password instead
of none). Generated values live in the cluster's credential store under ``release.<param>``, as a
component's do: chosen on the first apply, kept by every re-apply, placeholders offline. A
value the user set (not published) is never replaced, and a database password an earlier
install initialised its volume with is adopted from the live Secret (``CredentialDecl.adopt``).
Preflight's ``credentials`` check warns about every published value that is left.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import copy
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kfdeploy.credentials import CredentialDecl, Credentials
from kfdeploy.kinds import SECRET, group_kind
from kfdeploy.render import remote as remotes
from kfdeploy.render.process import pod_template
from kfdeploy.render.repos import RepoResolver

if TYPE_CHECKING:
    from kfdeploy.spec import KfDef, KustomizeSource

MIN_LENGTH = 4  # shorter values ("true", "") say nothing about where they came from
MAX_FILE = 1 << 20
RELEASE = "release"  # the credential store's prefix of the values replacing published ones
Texts = list[tuple[str, str]]  # (URL of the download, text of a file the build read from it)
Obj = dict[str, Any]


@dataclass(frozen=True)
class ReleaseSecret:
    """A Secret of the official releases: its credential keys and its identifier keys."""

    namespace: str
    name: str  # a secretGenerator's "-<hash>" suffix may follow
    credentials: Mapping[str, CredentialDecl] = field(default_factory=dict)
    identifiers: tuple[str, ...] = ()
    empty_default: tuple[str, ...] = ()  # credential keys the release leaves empty (no password)

    def matches(self, obj: Mapping[str, Any]) -> bool:
        meta = obj.get("metadata") or {}
        return (group_kind(obj) == SECRET and meta.get("namespace") == self.namespace
                and re.fullmatch(re.escape(self.name) + r"(-[a-z0-9]{10})?", str(meta.get("name", ""))) is not None)


DEX_PASSWORD = CredentialDecl("dexUserPassword", length=24)
OIDC_CLIENT_SECRET = CredentialDecl("oidcClientSecret", length=32)  # dex and oauth2-proxy must agree
RELEASE_SECRETS = (
    # dex's static user logs in with the password whose bcrypt hash this holds (hashFromEnv)
    ReleaseSecret("auth", "dex-passwords",
                  {"DEX_USER_PASSWORD": CredentialDecl("dexUserPasswordHash", bcrypt=DEX_PASSWORD.param)}),
    ReleaseSecret("auth", "dex-oidc-client", {"OIDC_CLIENT_SECRET": OIDC_CLIENT_SECRET}, ("OIDC_CLIENT_ID",)),
    ReleaseSecret("oauth2-proxy", "oauth2-proxy",  # a secretGenerator: its name has a hash suffix
                  {"client-secret": OIDC_CLIENT_SECRET, "cookie-secret": CredentialDecl("cookieSecret", 32)},
                  ("client-id",)),
    # MySQL and MinIO keep the credentials their volume was initialised with: adopted
    ReleaseSecret("kubeflow", "katib-mysql-secrets", {"MYSQL_ROOT_PASSWORD": CredentialDecl(
        "katibMysqlPassword", 32, adopt=("katib-mysql-secrets", "MYSQL_ROOT_PASSWORD"))}),
    ReleaseSecret("kubeflow", "mlpipeline-minio-artifact", {"secretkey": CredentialDecl(
        "objectStoreSecretKey", 32, adopt=("mlpipeline-minio-artifact", "secretkey"))}, ("accesskey",)),
    # Pipelines' MySQL runs root without a password: generated, and the server told (ENV_SWAPS)
    ReleaseSecret("kubeflow", "mysql-secret", {"password": CredentialDecl(
        "pipelinesMysqlPassword", 32, adopt=("mysql-secret", "password"))}, ("username",), ("password",)),
)


@dataclass(frozen=True)
class EnvSwap:
    """A release workload's environment that must follow a generated credential: when
    ``secret``'s ``key`` holds one (not empty), ``remove`` goes and ``add`` reads it."""

    namespace: str
    workload: str  # a Deployment, StatefulSet, ... (its pod template)
    container: str
    remove: str
    add: str
    secret: str
    key: str

    def env(self) -> dict[str, Any]:
        return {"name": self.add, "valueFrom": {"secretKeyRef": {"name": self.secret, "key": self.key}}}


ENV_SWAPS = (  # MySQL initialises root with MYSQL_ROOT_PASSWORD; clients read mysql-secret already
    EnvSwap("kubeflow", "mysql", "mysql", "MYSQL_ALLOW_EMPTY_PASSWORD", "MYSQL_ROOT_PASSWORD", "mysql-secret",
            "password"),
)
DECLS = {d.param: d for d in (DEX_PASSWORD, *(c for s in RELEASE_SECRETS for c in s.credentials.values()))}
# The release's login (facts of its dex config and istio install), for `kfdeploy credentials`.
LOGIN = {"user": "user@example.com", "password": DEX_PASSWORD.param, "service": "istio-system/istio-ingressgateway"}


def sets_login(replaced: list[Replaced]) -> bool:
    """Whether the release's login password is among the generated credentials."""
    return any(DECLS[r.param].bcrypt == LOGIN["password"] for r in replaced)


def release_secret(obj: Mapping[str, Any]) -> ReleaseSecret | None:
    return next((s for s in RELEASE_SECRETS if s.matches(obj)), None)


def adopted_keys(obj: Mapping[str, Any]) -> tuple[str, ...]:
    """The keys of a release Secret whose credential an earlier install's value may stand for."""
    known = release_secret(obj)
    return tuple(k for k, d in known.credentials.items() if d.adopt) if known is not None else ()


def identifier_keys(obj: Mapping[str, Any]) -> tuple[str, ...]:
    """The keys of a release Secret that name something and are not secret."""
    known = release_secret(obj)
    return known.identifiers if known is not None else ()


# --- which values are published ----------------------------------------------------------------


def published_keys(obj: Mapping[str, Any], texts: Texts) -> Iterator[tuple[str, list[str]]]:
    """(URL, keys as ``data.K``/``stringData.K``) for each download that writes some of the
    Secret's values."""
    by_url: dict[str, list[str]] = {}
    for key, forms in _values(obj):
        url = next((u for u, text in texts if any(f in text for f in forms)), None)
        if url is not None:
            by_url.setdefault(url, []).append(key)
    yield from by_url.items()


def _values(obj: Mapping[str, Any]) -> Iterator[tuple[str, list[str]]]:
    """(key, the forms its value may be written in) per value long enough to tell."""
    for key, value in sorted((obj.get("data") or {}).items()):
        if not isinstance(value, str):
            continue
        forms = [value]
        with contextlib.suppress(binascii.Error, UnicodeDecodeError):
            forms.append(base64.b64decode(value, validate=True).decode("utf-8"))
        forms = [f.strip() for f in forms if len(f.strip()) >= MIN_LENGTH]
        if forms:
            yield f"data.{key}", forms
    for key, value in sorted((obj.get("stringData") or {}).items()):
        if isinstance(value, str) and len(value.strip()) >= MIN_LENGTH:
            yield f"stringData.{key}", [value.strip(), base64.b64encode(value.encode()).decode()]


def downloaded_texts(app: str, source: KustomizeSource, spec: KfDef, repos: RepoResolver) -> Texts:
    """The text of every file the application's build read from a download, with its URL."""
    from kfdeploy.render import kustomize_source
    root, _, _ = kustomize_source(source, spec, repos)
    repo = next((r for r in spec.spec.repos if r.name == source.repo), None)
    url = repo.uri if repo is not None and repo.is_url else None
    confined = root if source.repo is not None else None
    out: Texts = []
    for start in [*source.paths, *source.components]:
        out += _walk((root / start).resolve(), confined, url, repos, f"application '{app}'")
    return out


def _walk(start: Path, root: Path | None, url: str | None, repos: RepoResolver, who: str) -> Texts:
    """Files read from ``start`` on: kept when ``url`` (their download) is known; remote bases
    fetched (from the cache the render filled) and read the same way."""
    out: Texts = []
    for folder in remotes.walk(start, root, who):
        if url is not None:
            out += [(url, t) for t in _read([folder.kfile, *(folder.path / r.value for r in
                                                              remotes.references(folder.data)
                                                              if not remotes.is_remote(r.value))])]
        for ref in folder.remote:
            remote = remotes.parse(ref.value, f"{who}: {folder.kfile} {ref.field}")
            got = remotes.fetch(remote, repos, who, "render it once with network access")
            if remote.is_file:
                out += [(remote.url, t) for t in _read([got.path])]
            else:
                out += _walk(got.path, got.tree, remote.url, repos, who)
    return out


def _read(paths: list[Path]) -> list[str]:
    texts = []
    for p in paths:
        if p.is_file() and p.stat().st_size <= MAX_FILE:
            try:
                texts.append(p.read_text(encoding="utf-8"))
            except UnicodeDecodeError:
                continue
    return texts


# --- replacing them ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Replaced:
    """One published value a render replaced: the application, the Secret and the key."""

    application: str
    secret: str  # namespace/name
    key: str
    param: str  # its credential, ``release.<param>`` in the store
    filled: bool = True  # False: an adopted empty value (an install made before, no password)


def replace(sources: Mapping[str, list[Obj]], texts: Callable[[str], Texts],
            credentials: Credentials) -> tuple[dict[str, list[Obj]], list[Replaced]]:
    """``sources`` (application -> objects) with every published credential of a release
    Secret replaced by its generated value (moved to ``stringData``, where placeholders stay
    readable offline); ``texts`` gives an application's downloaded files, read only for the
    applications holding such a Secret."""
    out, done = dict(sources), []
    chosen: dict[str, str] = {}
    for app, objects in sources.items():
        if not any(release_secret(o) for o in objects):
            continue
        files = texts(app)
        new = []
        for obj in objects:
            known = release_secret(obj)
            keys: set[str] = set()
            if known and files:  # a downloaded source's Secret: not the library's, nor the user's own files
                keys = {k for _, ks in published_keys(obj, files) for k in ks}
                keys |= {f"{f}.{k}" for k in known.empty_default for f in ("data", "stringData")
                         if (obj.get(f) or {}).get(k) == ""}
            wanted = [k for k in (known.credentials if known else {})
                      if f"data.{k}" in keys or f"stringData.{k}" in keys]
            if not wanted:
                new.append(obj)
                continue
            assert known is not None
            obj = copy.deepcopy(obj)
            ns, name = obj["metadata"]["namespace"], obj["metadata"]["name"]
            for key in wanted:
                decl = known.credentials[key]
                value = _value(decl, ns, credentials, chosen)
                (obj.get("data") or {}).pop(key, None)
                obj.setdefault("stringData", {})[key] = value
                done.append(Replaced(app, f"{ns}/{name}", key, decl.param, bool(value)))
            if not obj.get("data"):
                obj.pop("data", None)
            new.append(obj)
        out[app] = new
    filled = {(r.secret, r.key) for r in done if r.filled}
    for swap in ENV_SWAPS:
        if (f"{swap.namespace}/{swap.secret}", swap.key) in filled:
            out = {app: [_swapped(o, swap) for o in objects] for app, objects in out.items()}
    return out, done


def _swapped(obj: Obj, swap: EnvSwap) -> Obj:
    meta = obj.get("metadata") or {}
    if (meta.get("namespace"), meta.get("name")) != (swap.namespace, swap.workload) or pod_template(obj) is None:
        return obj
    obj = copy.deepcopy(obj)
    template = pod_template(obj)
    assert template is not None
    for container in (template.get("spec") or {}).get("containers") or []:
        env = container.get("env") or []
        if container.get("name") == swap.container and any(e.get("name") == swap.remove for e in env):
            container["env"] = [swap.env() if e.get("name") == swap.remove else e for e in env
                                if e.get("name") != swap.add]
    return obj


def _value(decl: CredentialDecl, namespace: str, credentials: Credentials, chosen: dict[str, str]) -> str:
    """A credential's value, chosen once per render (a bcrypt one after its password)."""
    if decl.param not in chosen:
        decls = (DECLS[decl.bcrypt], decl) if decl.bcrypt else (decl,)
        given = {d.param: chosen[d.param] for d in decls if d.param in chosen}
        filled = credentials.fill(RELEASE, decls, {"namespace": namespace, **given})
        chosen.update({d.param: str(filled[d.param]) for d in decls})
    return chosen[decl.param]
