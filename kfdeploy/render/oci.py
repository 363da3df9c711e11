"""Charts in an OCI registry (``oci://REGISTRY/PATH/NAME``), fetched by kfdeploy like any other source.

helm would pull the chart itself, on every render, unpinned. Instead kfdeploy speaks the OCI
distribution API through ``render.fetch`` (https only, proxy, CA bundle, limits, URL rewrite,
offline) and the repo cache, as helm's registry client (oras) does:

1. ``GET https://REGISTRY/v2/PATH/NAME/manifests/REFERENCE`` (the tag, or ``sha256:...``),
   ``Accept: application/vnd.oci.image.manifest.v1+json``. A ``401`` carrying a ``Bearer``
   challenge is answered with a token from its realm (``?service=&scope=``, answer ``token`` or
   ``access_token``), anonymously or with the login of helm's registry config or Docker's;
2. the layer of media type ``application/vnd.cncf.helm.chart.content.v1.tar+gzip`` (or the
   legacy ``application/tar+gzip``) is the chart archive: ``GET .../blobs/sha256:...``, redirects
   followed (the token is not sent to another host), its sha256 checked against the layer's
   digest and its ``Chart.yaml`` against the chart's name and version before it is cached.

The manifest URL (tag included) and the blob URL are pinned in the lock like any URL: the
manifest's sha256 is the chart's digest, so a tag moved upstream is a lock mismatch naming both
digests. Both are cached and carried by vendor bundles, so a pinned chart renders offline. As
with helm, ``docker.io`` is served by ``registry-1.docker.io`` and a ``+`` in a version is ``_``
in its tag.
"""

from __future__ import annotations

import base64
import json
import os
import re
import tarfile
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import requests
import yaml

from kfdeploy.errors import RenderError
from kfdeploy.render.fetch import download
from kfdeploy.render.repos import file_digest

if TYPE_CHECKING:
    from kfdeploy.render.repos import RepoResolver

SCHEME = "oci://"
MANIFEST_TYPE = "application/vnd.oci.image.manifest.v1+json"
CHART_TYPES = ("application/vnd.cncf.helm.chart.content.v1.tar+gzip", "application/tar+gzip")
HOSTS = {"docker.io": "registry-1.docker.io"}  # where a registry's API is served
DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
TAG = re.compile(r"^[\w][\w.-]{0,127}$")
CHALLENGE_PARAM = re.compile(r'(\w+)="([^"]*)"|(\w+)=([^\s,"]+)')


@dataclass(frozen=True)
class Reference:
    """``oci://REGISTRY/REPOSITORY`` at a tag or a manifest digest."""

    registry: str
    repository: str
    reference: str  # a tag, or sha256:<hex>

    @property
    def name(self) -> str:
        return self.repository.rsplit("/", 1)[-1]

    def url(self, kind: str, ref: str) -> str:
        """The API URL of a manifest or a blob (``kind``)."""
        return f"https://{HOSTS.get(self.registry, self.registry)}/v2/{self.repository}/{kind}/{ref}"

    def __str__(self) -> str:
        sep = "@" if self.reference.startswith("sha256:") else ":"
        return f"{SCHEME}{self.registry}/{self.repository}{sep}{self.reference}"


def is_oci(source: Any) -> bool:
    return not source.repo and str(source.chart).startswith(SCHEME)


def parse(chart: str, version: str | None, who: str) -> Reference:
    """The reference of ``helm.chart`` (with ``:TAG`` or ``@sha256:...``) and ``helm.version``."""
    rest, _, digest = chart.removeprefix(SCHEME).partition("@")
    registry, _, repository = rest.partition("/")
    tag = version.replace("+", "_") if version else ""
    if ":" in repository.rsplit("/", 1)[-1]:
        repository, _, tag = repository.rpartition(":")
    problem = reference_problem(registry, repository, digest, tag)
    if problem:
        raise RenderError(f"{who}: helm.chart {chart}: {problem}",
                          hint="give oci://REGISTRY/PATH/NAME with helm.version set to an exact version,"
                               " or oci://REGISTRY/PATH/NAME@sha256:DIGEST")
    return Reference(registry, repository, digest or tag)


def reference_problem(registry: str, repository: str, digest: str, tag: str) -> str | None:
    if not registry or not repository:
        return "it names no registry and chart"
    if digest:
        return None if DIGEST.match(digest) else f"{digest!r} is not sha256:<64 hex digits>"
    if not tag:
        return "it has neither a version nor a digest"
    return None if TAG.match(tag) else f"{tag!r} is not an exact version (a tag)"


def fetch_chart(source: Any, repos: RepoResolver, who: str) -> Path:
    """The local chart archive of an ``oci://`` chart: its manifest, then the chart layer."""
    ref = parse(source.chart, source.version, who)
    who = f"{who}: chart {ref}"
    hint = (f"if the registry needs a login, `helm registry login {ref.registry}` (kfdeploy reads helm's"
            " registry config and Docker's); offline, `kfdeploy vendor --import` a bundle holding the chart")
    registry = Registry(ref, who, hint)
    pinned = ref.reference.removeprefix("sha256:") if ref.reference.startswith("sha256:") else None
    entry = repos.fetch(ref.url("manifests", ref.reference), f"{who}: manifest", hint, pinned=pinned,
                        file_name="manifest.json", access=registry, check=lambda f: chart_layer(f, who))
    layer = chart_layer(entry / "manifest.json", who)
    registry.accept = None
    name = f"{ref.name}-{source.version or (pinned[:12] if pinned else ref.reference)}.tgz"
    entry = repos.fetch(ref.url("blobs", layer), who, hint, file_name=name, access=registry,
                        check=lambda f: check_chart(f, layer, ref, source.version, who))
    return entry / name


def chart_layer(manifest: Path, who: str) -> str:
    """The digest of the manifest's chart layer."""
    try:
        data = json.loads(manifest.read_bytes())
    except (OSError, ValueError) as e:
        raise RenderError(f"{who}: the registry's manifest is not JSON: {e}",
                          hint="check that helm.chart names a helm chart") from e
    layers = data.get("layers") if isinstance(data, dict) else None
    found = [layer for layer in layers if isinstance(layer, dict)] if isinstance(layers, list) else []
    digests = [str(layer.get("digest")) for t in CHART_TYPES for layer in found if layer.get("mediaType") == t]
    if not digests or not DIGEST.match(digests[0]):
        types = ", ".join(str(layer.get("mediaType")) for layer in found) or "none"
        raise RenderError(f"{who}: the manifest has no helm chart layer ({CHART_TYPES[0]}); its layers: {types}",
                          hint="check that helm.chart names a helm chart, not a container image")
    return digests[0]


def check_chart(archive: Path, layer: str, ref: Reference, version: str | None, who: str) -> None:
    """The downloaded layer is the one the manifest names, and the chart the spec names."""
    got = "sha256:" + file_digest(archive)
    if got != layer:
        raise RenderError(f"{who}: the chart layer's bytes have {got}, not the manifest's {layer}; nothing was"
                          " cached", hint="the registry or a proxy altered the chart; try again, or ask its owner")
    meta = chart_yaml(archive, who)
    expected = {"name": ref.name, "version": version}
    wrong = [f"{k} {meta.get(k)!r}, not {v!r}" for k, v in expected.items() if v and str(meta.get(k)) != v]
    if wrong:
        raise RenderError(f"{who}: its Chart.yaml says {'; '.join(wrong)}",
                          hint="check helm.chart and helm.version; the registry holds another chart there")


def chart_yaml(archive: Path, who: str) -> dict[str, Any]:
    """``NAME/Chart.yaml`` of a chart archive (the first folder's, as helm packs it)."""
    try:
        with tarfile.open(archive, "r:gz") as tar:
            for member in tar:
                if member.isfile() and member.name.count("/") == 1 and member.name.endswith("/Chart.yaml"):
                    stream = tar.extractfile(member)
                    data = yaml.safe_load(stream.read(1 << 20)) if stream else None
                    return data if isinstance(data, dict) else {}
    except (tarfile.TarError, OSError, EOFError, yaml.YAMLError) as e:
        raise RenderError(f"{who}: the chart layer is not a readable chart archive: {e}",
                          hint="check that helm.chart names a helm chart") from e
    raise RenderError(f"{who}: the chart layer holds no Chart.yaml", hint="check that helm.chart names a helm chart")


@dataclass
class Registry:
    """The ``fetch.Access`` of one chart's registry: the manifest's Accept header, and a bearer
    token fetched once, when the registry challenges (never written anywhere)."""

    ref: Reference
    who: str
    hint: str
    accept: str | None = MANIFEST_TYPE
    token: str | None = field(default=None, repr=False)
    asked: bool = False

    def headers(self) -> Mapping[str, str]:
        return {k: v for k, v in (("Accept", self.accept),
                                  ("Authorization", f"Bearer {self.token}" if self.token else None)) if v}

    def challenge(self, resp: requests.Response) -> bool:
        """A ``Bearer realm=...,service=...,scope=...`` challenge: ask the realm for a token for
        the challenged scopes and this repository's pull (as oras does), with the registry's
        login when there is one. Asked once: a second 401 is final."""
        scheme, params = parse_challenge(resp.headers.get("WWW-Authenticate", ""))
        if self.asked or scheme != "bearer" or not params.get("realm", "").startswith("https://"):
            return False
        self.asked = True
        scopes = sorted(set(params.get("scope", "").split()) | {f"repository:{self.ref.repository}:pull"})
        service = [("service", params["service"])] if params.get("service") else []
        query = urlencode(service + [("scope", scope) for scope in scopes])
        realm = params["realm"] + ("&" if "?" in params["realm"] else "?") + query
        self.token = token(realm, login(self.ref.registry), f"{self.who}: token", self.hint)
        return True


def parse_challenge(header: str) -> tuple[str, dict[str, str]]:
    """``Bearer realm="...",service="..."`` -> ("bearer", {realm, service})."""
    scheme, _, rest = header.strip().partition(" ")
    return scheme.lower(), {m[0] or m[2]: m[1] or m[3] for m in CHALLENGE_PARAM.findall(rest)}


def token(realm: str, basic: str | None, who: str, hint: str) -> str:
    """The token the realm gives (``token`` or ``access_token``); its request is not reported."""
    auth = Basic(basic) if basic else None
    with tempfile.TemporaryDirectory(prefix="kfdeploy-token-") as tmp:
        answer = Path(tmp) / "token.json"
        download(realm, answer, who, lambda _text: None, hint, auth)
        try:
            data = json.loads(answer.read_bytes())
        except ValueError as e:
            raise RenderError(f"{who}: the registry's token service answered no JSON", hint=hint) from e
    found = (data.get("access_token") or data.get("token")) if isinstance(data, dict) else None
    if not isinstance(found, str) or not found:
        raise RenderError(f"{who}: the registry's token service gave no token", hint=hint)
    return found


@dataclass(frozen=True)
class Basic:
    """The ``fetch.Access`` of a token request made with a registry login."""

    auth: str = field(repr=False)

    def headers(self) -> Mapping[str, str]:
        return {"Authorization": f"Basic {self.auth}"}

    def challenge(self, resp: requests.Response) -> bool:
        return False


def login(registry: str, env: Mapping[str, str] | None = None) -> str | None:
    """The base64 ``user:password`` helm would log in to ``registry`` with: helm's registry
    config, then Docker's (``auths`` entries only; credential helpers are not run)."""
    env = os.environ if env is None else env
    home = Path(env.get("HOME") or Path.home())
    config_home = Path(env.get("XDG_CONFIG_HOME") or home / ".config")
    files = [Path(env.get("HELM_REGISTRY_CONFIG") or config_home / "helm" / "registry" / "config.json"),
             Path(env.get("DOCKER_CONFIG") or home / ".docker") / "config.json"]
    keys = [registry, f"https://{registry}"] + (["https://index.docker.io/v1/"] if registry in HOSTS else [])
    for file in files:
        try:
            auths = json.loads(file.read_text(encoding="utf-8")).get("auths") or {}
        except (OSError, ValueError, AttributeError):
            continue
        for key in keys:
            entry = auths.get(key) if isinstance(auths, dict) else None
            if isinstance(entry, dict) and entry.get("auth"):
                return str(entry["auth"])
            if isinstance(entry, dict) and entry.get("username") and entry.get("password"):
                return base64.b64encode(f"{entry['username']}:{entry['password']}".encode()).decode()
    return None
