"""An OCI registry holding helm charts, served by the loopback ``Origin`` (``fakes.https_proxy``).

It answers the distribution API the way ghcr.io and Docker Hub do for an anonymous client:
``/v2/REPO/manifests/REF`` and ``/v2/REPO/blobs/DIGEST`` answer ``401`` with a ``Bearer``
challenge until asked with a token from ``/token`` (``?service=&scope=``); blobs may redirect to
another host (blob storage). ``pushed`` charts are built by the test (``chart_archive``).
"""

from __future__ import annotations

import gzip
import hashlib
import http.server
import io
import json
import tarfile
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlsplit

from fakes.https_proxy import Origin

MANIFEST_TYPE = "application/vnd.oci.image.manifest.v1+json"
CONFIG_TYPE = "application/vnd.cncf.helm.config.v1+json"
CHART_TYPE = "application/vnd.cncf.helm.chart.content.v1.tar+gzip"
TEMPLATE = """apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}-settings
data:
  greeting: {{ .Values.greeting | quote }}
  chart: {{ .Chart.Name }}-{{ .Chart.Version }}
"""


def chart_archive(name: str, version: str, greeting: str = "hello") -> bytes:
    """A helm chart archive as `helm package` lays it out: NAME/Chart.yaml, values, templates."""
    files = {f"{name}/Chart.yaml": f"apiVersion: v2\nname: {name}\nversion: {version}\n",
             f"{name}/values.yaml": f"greeting: {greeting}\n",
             f"{name}/templates/settings.yaml": TEMPLATE}
    raw = io.BytesIO()
    with gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as gz, tarfile.open(fileobj=gz, mode="w") as tar:
        for path, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(path)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return raw.getvalue()


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


@dataclass
class Registry:
    """``host``'s registry (API under ``prefix``). ``challenge`` None: a 401 with no way to a
    token (a private registry); ``blob_host``: blobs redirect there."""

    origin: Origin
    host: str = "ghcr.io"
    prefix: str = ""
    challenge: str | None = "Bearer"
    scoped: bool = True  # the challenge names the scope (some registries leave it out)
    blob_host: str | None = None
    token: str = "anonymous-pull-token-1234"
    manifests: dict[str, bytes] = field(default_factory=dict)  # repository:tag or @digest -> manifest
    authorizations: list[str] = field(default_factory=list)  # Authorization headers, host/path: value
    accepts: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.origin.handle(f"https://{self.host}{self.prefix}/token", self.issue)

    @property
    def realm(self) -> str:
        return f"https://{self.host}{self.prefix}/token"

    def push(self, repository: str, tag: str, archive: bytes, layer: bytes | None = None) -> tuple[str, str]:
        """Store ``archive`` as the chart at ``repository:tag`` (the manifest names ``layer``'s
        digest when given: a registry whose blob is not what its manifest says); return the
        manifest's and the chart layer's digests."""
        config = json.dumps({"name": repository.rsplit("/", 1)[-1], "version": tag}).encode()
        named = layer if layer is not None else archive
        manifest = json.dumps({"schemaVersion": 2, "mediaType": MANIFEST_TYPE,
                               "config": {"mediaType": CONFIG_TYPE, "digest": sha256(config), "size": len(config)},
                               "layers": [{"mediaType": CHART_TYPE, "digest": sha256(named),
                                           "size": len(named)}]}, indent=2).encode()
        for ref, sep in ((tag, ":"), (sha256(manifest), "@")):
            self.serve(f"{repository}/manifests/{ref}", manifest, manifest=True)
            self.manifests[f"{repository}{sep}{ref}"] = manifest
        for digest, body in ((sha256(config), config), (sha256(named), archive)):
            self.serve(f"{repository}/blobs/{digest}", body, manifest=False)
        return sha256(manifest), sha256(named)

    def serve(self, path: str, body: bytes, manifest: bool) -> None:
        url = f"https://{self.host}{self.prefix}/v2/{path}"
        blob_url = f"https://{self.blob_host}/storage/{path.replace('/', '-')}" if self.blob_host else None

        def answer(req: http.server.BaseHTTPRequestHandler) -> None:
            auth = req.headers.get("Authorization")
            if auth:
                self.authorizations.append(f"{url}: {auth}")
            if manifest:
                self.accepts.append(req.headers.get("Accept", ""))
            if auth != f"Bearer {self.token}":
                return self.unauthorized(req, path.split("/manifests/")[0].split("/blobs/")[0])
            if blob_url and not manifest:
                return reply(req, 307, b"", {"Location": blob_url})
            reply(req, 200, body, {"Content-Type": MANIFEST_TYPE} if manifest else {})

        self.origin.handle(url, answer)
        if blob_url:
            self.origin.handle(blob_url, lambda req: self.from_storage(req, blob_url, body))

    def from_storage(self, req: http.server.BaseHTTPRequestHandler, url: str, body: bytes) -> None:
        if req.headers.get("Authorization"):
            self.authorizations.append(f"{url}: {req.headers['Authorization']}")
        reply(req, 200, body, {})

    def unauthorized(self, req: http.server.BaseHTTPRequestHandler, repository: str) -> None:
        scope = f',scope="repository:{repository}:pull"' if self.scoped else ""
        header = (f'Bearer realm="{self.realm}",service="{self.host}"{scope}' if self.challenge == "Bearer"
                  else 'Basic realm="private"')
        reply(req, 401, b'{"errors":[{"code":"UNAUTHORIZED"}]}', {"WWW-Authenticate": header})

    def issue(self, req: http.server.BaseHTTPRequestHandler) -> None:
        """The token service: a token for a pull scope of this registry's service."""
        query = parse_qs(urlsplit(req.path).query)
        if req.headers.get("Authorization"):
            self.authorizations.append(f"{self.realm}: {req.headers['Authorization']}")
        scopes = query.get("scope", [])
        good = query.get("service") == [self.host] and bool(scopes) and all(
            s.startswith("repository:") and s.endswith(":pull") for s in scopes)
        reply(req, 200 if good else 400, json.dumps({"token": self.token} if good else {}).encode(), {})


def reply(req: http.server.BaseHTTPRequestHandler, status: int, body: bytes, headers: dict[str, str]) -> None:
    req.send_response(status)
    for k, v in {**headers, "Content-Length": str(len(body))}.items():
        req.send_header(k, v)
    req.end_headers()
    req.wfile.write(body)
