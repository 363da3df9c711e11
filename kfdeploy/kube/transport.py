"""HTTP to the API server: what a kubeconfig says (server, trust, credentials) and one pooled,
kept-alive urllib3 transport.

The kubernetes package does this too, but importing it loads every generated API model first:
0.75 s and ~55 MB of a no-op apply before its first request (bench/PROFILE.md), for the four
things the cluster client needs. Supported: ``$KUBECONFIG`` lists merged first-wins, contexts,
CA / client certificate / key as files or inline data, bearer tokens and token files, basic
auth, exec credential plugins (gke-gcloud-auth-plugin, ``aws eks get-token``), ``proxy-url``,
``tls-server-name`` and ``insecure-skip-tls-verify``.
"""

from __future__ import annotations

import atexit
import base64
import datetime
import json
import os
import shutil
import ssl
import subprocess
import tempfile
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import urllib3
import yaml

from kfdeploy.errors import PlatformError

DEFAULT_KUBECONFIG = "~/.kube/config"


class HttpError(Exception):
    """The API server answered with an error status (>= 400)."""

    def __init__(self, status: int | None = None, reason: str | None = None,
                 headers: Mapping[str, str] | None = None, body: bytes | str | None = None) -> None:
        super().__init__(f"({status}) {reason or ''}".strip())
        self.status = status
        self.reason = reason
        self.headers = headers
        self.body = body


class KubeconfigError(Exception):
    """The kubeconfig cannot be used; the message says which entry and why."""


@dataclass(frozen=True)
class ExecPlugin:
    command: str
    args: tuple[str, ...] = ()
    env: tuple[tuple[str, str], ...] = ()
    api_version: str = "client.authentication.k8s.io/v1beta1"
    base_dir: Path = Path()


@dataclass(frozen=True)
class Endpoint:
    """One context of a kubeconfig, resolved: where the server is and how to prove who we are."""

    server: str
    ca_file: str | None = None
    insecure: bool = False
    tls_server_name: str | None = None
    cert_file: str | None = None
    key_file: str | None = None
    token: str | None = None
    basic: tuple[str, str] | None = None
    exec: ExecPlugin | None = None
    proxy: str | None = None


def kubeconfig_paths(path: str | Path | None, env: Mapping[str, str] = os.environ) -> list[Path]:
    if path:
        return [Path(path).expanduser()]
    listed = env.get("KUBECONFIG", "")
    return [Path(p).expanduser() for p in listed.split(os.pathsep) if p] or [Path(DEFAULT_KUBECONFIG).expanduser()]


def merged(paths: list[Path]) -> tuple[dict[str, Any], dict[str, Path]]:
    """The kubeconfig files merged as kubectl does (the first file to name an entry wins), and
    the folder each named entry came from (relative paths in it resolve against that folder)."""
    doc: dict[str, Any] = {"clusters": {}, "users": {}, "contexts": {}, "current-context": None}
    origin: dict[str, Path] = {}
    found = False
    for path in paths:
        if not path.is_file():
            continue
        found = True
        try:
            data = yaml.load(path.read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)) or {}
        except (OSError, yaml.YAMLError) as e:
            raise KubeconfigError(f"{path}: cannot read it: {e}") from e
        if not isinstance(data, dict):
            raise KubeconfigError(f"{path}: not a kubeconfig (expected a mapping)")
        doc["current-context"] = doc["current-context"] or data.get("current-context")
        for section, inner in (("clusters", "cluster"), ("users", "user"), ("contexts", "context")):
            for entry in data.get(section) or []:
                name = entry.get("name") if isinstance(entry, dict) else None
                if name and name not in doc[section]:
                    doc[section][name] = entry.get(inner) or {}
                    origin[f"{section}/{name}"] = path.parent
    if not found:
        raise KubeconfigError(f"no kubeconfig file at {', '.join(map(str, paths))}")
    return doc, origin


def load_endpoint(path: str | Path | None = None, context: str | None = None,
                  env: Mapping[str, str] = os.environ) -> Endpoint:
    doc, origin = merged(kubeconfig_paths(path, env))
    name = context or doc["current-context"]
    if not name:
        raise KubeconfigError("no context given and no current-context set")
    ctx = doc["contexts"].get(name)
    if ctx is None:
        raise KubeconfigError(f"context {name!r} not found (contexts: {', '.join(doc['contexts']) or 'none'})")
    cluster = doc["clusters"].get(ctx.get("cluster"))
    if cluster is None or not cluster.get("server"):
        raise KubeconfigError(f"context {name!r}: cluster {ctx.get('cluster')!r} not found or has no server")
    user = doc["users"].get(ctx.get("user")) or {}
    cdir, udir = origin.get(f"clusters/{ctx.get('cluster')}", Path()), origin.get(f"users/{ctx.get('user')}", Path())
    if user.get("auth-provider"):
        raise KubeconfigError(f"user {ctx.get('user')!r}: auth-provider "
                              f"{user['auth-provider'].get('name', '')!r} is not supported; use an exec "
                              "credential plugin (e.g. gke-gcloud-auth-plugin) instead")
    return Endpoint(
        server=str(cluster["server"]).rstrip("/"),
        ca_file=_file_or_data(cluster, "certificate-authority", cdir),
        insecure=bool(cluster.get("insecure-skip-tls-verify")),
        tls_server_name=cluster.get("tls-server-name"),
        cert_file=_file_or_data(user, "client-certificate", udir),
        key_file=_file_or_data(user, "client-key", udir),
        token=user.get("token") or _read_token(user.get("tokenFile"), udir),
        basic=(user["username"], user.get("password", "")) if user.get("username") else None,
        exec=_exec_plugin(user.get("exec"), udir),
        proxy=cluster.get("proxy-url"),
    )


def _resolve(value: str, base: Path) -> str:
    p = Path(value).expanduser()
    return str(p if p.is_absolute() else base / p)


def _file_or_data(entry: Mapping[str, Any], key: str, base: Path) -> str | None:
    if entry.get(f"{key}-data"):
        return _private_file(base64.b64decode(entry[f"{key}-data"]))
    return _resolve(entry[key], base) if entry.get(key) else None


def _read_token(path: str | None, base: Path) -> str | None:
    if not path:
        return None
    try:
        return Path(_resolve(path, base)).read_text().strip()
    except OSError as e:
        raise KubeconfigError(f"tokenFile {path}: {e}") from e


def _exec_plugin(raw: Any, base: Path) -> ExecPlugin | None:
    if not raw:
        return None
    command = str(raw.get("command", ""))
    if "/" in command and not Path(command).is_absolute():
        command = _resolve(command, base)
    return ExecPlugin(command, tuple(str(a) for a in raw.get("args") or ()),
                      tuple((str(e["name"]), str(e["value"])) for e in raw.get("env") or ()),
                      str(raw.get("apiVersion", ExecPlugin.api_version)), base)


_PRIVATE: list[str] = []


def _private_file(data: bytes) -> str:
    """Inline certificate data as an owner-only file (ssl loads certificates from files)."""
    if not _PRIVATE:
        _PRIVATE.append(tempfile.mkdtemp(prefix="kfdeploy-tls-"))
        atexit.register(shutil.rmtree, _PRIVATE[0], True)
    fd, path = tempfile.mkstemp(dir=_PRIVATE[0])
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    return path


@dataclass
class _ExecCredential:
    token: str | None = None
    cert_file: str | None = None
    key_file: str | None = None
    expires: datetime.datetime | None = None

    def fresh(self) -> bool:
        return self.expires is None or self.expires > datetime.datetime.now(datetime.UTC) + datetime.timedelta(
            seconds=30)


def run_exec_plugin(plugin: ExecPlugin) -> _ExecCredential:
    """Run the credential plugin as kubectl does and read its ExecCredential."""
    env = {**os.environ, **dict(plugin.env), "KUBERNETES_EXEC_INFO": json.dumps({
        "apiVersion": plugin.api_version, "kind": "ExecCredential", "spec": {"interactive": False}})}
    try:
        done = subprocess.run([plugin.command, *plugin.args], capture_output=True, text=True, env=env,
                              timeout=60, check=False, cwd=plugin.base_dir if plugin.base_dir.is_dir() else None)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise PlatformError(f"credential plugin {plugin.command} could not run: {e}",
                            hint="install it or put it on PATH (the kubeconfig's users[].user.exec.command)") from e
    if done.returncode != 0:
        raise PlatformError(f"credential plugin {plugin.command} failed: {done.stderr.strip()[-500:]}",
                            hint="log in with the cloud CLI again, then re-run")
    try:
        status = json.loads(done.stdout).get("status") or {}
    except ValueError as e:
        raise PlatformError(f"credential plugin {plugin.command} printed no ExecCredential JSON") from e
    expires = None
    if status.get("expirationTimestamp"):
        expires = datetime.datetime.fromisoformat(str(status["expirationTimestamp"]).replace("Z", "+00:00"))
    cert = _private_file(status["clientCertificateData"].encode()) if status.get("clientCertificateData") else None
    key = _private_file(status["clientKeyData"].encode()) if status.get("clientKeyData") else None
    return _ExecCredential(status.get("token"), cert, key, expires)


def ssl_context(ep: Endpoint, cert_file: str | None, key_file: str | None) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=ep.ca_file) if ep.ca_file else ssl.create_default_context()
    if ep.insecure:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    if cert_file:
        ctx.load_cert_chain(cert_file, key_file)
    return ctx


@dataclass
class Transport:
    """Requests to one API server over a pool of kept-alive connections (thread-safe)."""

    endpoint: Endpoint
    maxsize: int = 16
    _pool: urllib3.PoolManager | None = None
    _credential: _ExecCredential | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _headers(self) -> tuple[urllib3.PoolManager, dict[str, str]]:
        with self._lock:
            ep = self.endpoint
            if ep.exec and (self._credential is None or not self._credential.fresh()):
                self._credential = run_exec_plugin(ep.exec)
                self._pool = None  # a new client certificate needs new connections
            cred = self._credential or _ExecCredential()
            if self._pool is None:
                ctx = ssl_context(ep, cred.cert_file or ep.cert_file, cred.key_file or ep.key_file)
                kw: dict[str, Any] = {"maxsize": self.maxsize, "block": False, "retries": False,
                                      "ssl_context": ctx, "server_hostname": ep.tls_server_name}
                if ep.insecure:
                    kw["assert_hostname"] = False
                self._pool = urllib3.ProxyManager(ep.proxy, **kw) if ep.proxy else urllib3.PoolManager(**kw)
            headers = {}
            token = cred.token or ep.token
            if token:
                headers["Authorization"] = f"Bearer {token}"
            elif ep.basic:
                headers["Authorization"] = "Basic " + base64.b64encode(":".join(ep.basic).encode()).decode()
            return self._pool, headers

    def call_api(self, path: str, method: str, query_params: list[tuple[str, Any]] | None = None,
                 header_params: Mapping[str, str] | None = None, body: Any = None,
                 _request_timeout: float = 60, **_: Any) -> urllib3.BaseHTTPResponse:
        """One request; the response (``.data`` holds the body), or HttpError for a status >= 400."""
        pool, headers = self._headers()
        url = self.endpoint.server + path + (f"?{urlencode(query_params)}" if query_params else "")
        data = body if body is None or isinstance(body, bytes | str) else json.dumps(body, separators=(",", ":"))
        resp = pool.request(method, url, body=data, headers={**headers, **(header_params or {})},
                            timeout=urllib3.Timeout(total=_request_timeout), preload_content=True,
                            redirect=False)
        if resp.status >= 400:
            raise HttpError(resp.status, resp.reason, resp.headers, resp.data)
        return resp

    def close(self) -> None:
        with self._lock:
            if self._pool is not None:
                self._pool.clear()
                self._pool = None
