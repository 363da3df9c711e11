"""The one door to the cluster: a small REST client over a pooled HTTP transport.

``kfdeploy.kube.transport`` reads the kubeconfig (certificates, tokens, exec plugins) and keeps
the connections alive; everything above that — discovery, server-side apply, batched LISTs,
deletes — is a handful of plain REST calls here, so the engine deals in plain dicts and every
request is counted (the apply engine reports how many it made).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import urllib3.exceptions

from kfdeploy.errors import ApplyError, PlatformError
from kfdeploy.kube.retry import DEFAULT_RETRY, NO_RETRY, GaveUp, RetryPolicy, bounded_timeout, call_with_retry
from kfdeploy.kube.transport import HttpError, KubeconfigError, Transport, load_endpoint

FIELD_MANAGER = "kfdeploy"
_AGGREGATED = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json"


class KubeApiError(ApplyError):
    """An API request failed; carries the HTTP status and the server's Status object."""

    def __init__(self, status: int, reason: str, message: str, details: dict[str, Any] | None = None):
        super().__init__(message)
        self.status = status
        self.reason = reason
        self.details = details or {}


class TransportError(PlatformError):
    """A request got no HTTP answer; ``cause`` says why in a few words (connection refused,
    timed out, TLS verification failed, ...)."""

    def __init__(self, cluster: str, method: str, path: str, error: BaseException, tried: str = "") -> None:
        self.cause, hint = _transport_cause(error)
        super().__init__(f"cannot reach the cluster ({cluster}) for {method} {path}: {self.cause}{tried}",
                         hint=hint)


def _transport_cause(error: BaseException) -> tuple[str, str]:
    """(the underlying reason, what to do) for a urllib3 error; MaxRetryError is unwrapped."""
    inner = error.reason if isinstance(error, urllib3.exceptions.MaxRetryError) and error.reason else error
    text = str(inner)
    if isinstance(inner, urllib3.exceptions.NewConnectionError):
        text = text.split(": ", 1)[-1]  # drop the connection object's repr
        if isinstance(inner, urllib3.exceptions.NameResolutionError):
            return text, "the server address does not resolve; check the context's cluster.server"
        return text, "is the cluster running? `kfdeploy cluster create -f SPEC`, or check --kubeconfig/--context"
    if isinstance(inner, urllib3.exceptions.SSLError):
        return f"TLS: {text}", ("the server's certificate does not match the kubeconfig's certificate-authority; "
                                "is this the right context?")
    if isinstance(inner, urllib3.exceptions.TimeoutError):
        return f"timed out: {text}", "the API server is slow or unreachable; check it and re-run"
    return f"{type(inner).__name__}: {text}", "the connection broke; re-run (kfdeploy resumes where it stopped)"


@dataclass(frozen=True)
class Resource:
    """What discovery says about one kind: where it lives and whether it is namespaced."""

    group: str
    version: str
    kind: str
    plural: str
    namespaced: bool

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    def path(self, namespace: str | None = None, name: str | None = None) -> str:
        base = f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"
        if self.namespaced and namespace:
            base += f"/namespaces/{namespace}"
        base += f"/{self.plural}"
        return base + (f"/{name}" if name else "")


def split_api_version(api_version: str) -> tuple[str, str]:
    group, _, version = api_version.rpartition("/")
    return group, version


class Cluster:
    """A connection to one cluster. Thread-safe: the engine applies and polls from threads.
    Requests that fail transiently are repeated under ``retry`` (see ``kfdeploy.kube.retry``)."""

    def __init__(self, api: Transport, description: str = "",
                 retry: RetryPolicy = DEFAULT_RETRY) -> None:
        self.api = api
        self.description = description
        self.retry = retry
        self._resources: dict[tuple[str, str], Resource] | None = None
        self._lock = threading.Lock()
        self.requests = 0
        self.retries = 0  # requests sent again after a transient fault (a 429, a restart)

    @classmethod
    def connect(cls, kubeconfig: str | Path | None = None, context: str | None = None) -> Cluster:
        try:
            endpoint = load_endpoint(kubeconfig, context)
        except (KubeconfigError, OSError) as e:
            raise PlatformError(
                f"cannot load kubeconfig {kubeconfig or '(default)'} context {context or '(current)'}: {e}",
                hint="check --kubeconfig/--context, or run `kfdeploy cluster create` first") from e
        # Retries are kfdeploy.kube.retry's to decide (urllib3 would repeat any write at once).
        return cls(Transport(endpoint, maxsize=16), f"{kubeconfig or 'kubeconfig'}:{context or 'current'}")

    # -- raw requests -------------------------------------------------------------------------

    def call(self, method: str, path: str, *, query: dict[str, Any] | None = None,
             body: Any = None, content_type: str | None = None, accept: str = "application/json",
             timeout: float = 60, retry: RetryPolicy | None = None) -> dict[str, Any]:
        """One request, repeated on transient faults under ``retry`` (default: the cluster's)."""
        headers = {"Accept": accept}
        if content_type:
            headers["Content-Type"] = content_type
        policy = retry or self.retry
        sent = 0

        def send() -> Any:
            nonlocal sent
            with self._lock:
                self.requests += 1
                self.retries += sent > 0
            sent += 1
            return self.api.call_api(
                path, method, query_params=list((query or {}).items()), header_params=headers,
                body=body, auth_settings=["BearerToken"], _preload_content=False,
                _return_http_data_only=True, _request_timeout=bounded_timeout(timeout, policy.clock))

        tried = ""
        try:
            resp = call_with_retry(send, method, content_type, policy)
        except GaveUp as gave_up:
            error, tried = gave_up.error, f" (retried: {gave_up.summary})"
        except Exception as e:  # noqa: BLE001 - mapped just below
            error = e
        else:
            return _decode(resp.data)
        if isinstance(error, HttpError):
            raise _api_error(error, method, path, tried) from error
        if isinstance(error, urllib3.exceptions.HTTPError | OSError):  # no HTTP answer: refused, reset, TLS
            raise TransportError(self.description, method, path, error, tried) from error
        raise error  # e.g. the PlatformError of a failed exec credential plugin

    def close(self) -> None:
        self.api.close()

    def version(self) -> dict[str, Any]:
        """The server version; not retried, so an unreachable cluster is reported at once."""
        return self.call("GET", "/version", timeout=10, retry=NO_RETRY)

    # -- discovery ----------------------------------------------------------------------------

    def resources(self) -> dict[tuple[str, str], Resource]:
        """(apiVersion, kind) -> Resource, from aggregated discovery (two requests in all)."""
        if self._resources is None:
            found: dict[tuple[str, str], Resource] = {}
            for root in ("/api", "/apis"):
                doc = self.call("GET", root, accept=_AGGREGATED)
                if doc.get("kind") != "APIGroupDiscoveryList":
                    found.update(self._legacy_discovery(root, doc))
                    continue
                for item in doc.get("items", []):
                    group = item.get("metadata", {}).get("name", "")
                    for ver in item.get("versions", []):
                        for r in ver.get("resources", []):
                            rk = r.get("responseKind", {}).get("kind")
                            if not rk:
                                continue
                            res = Resource(group, ver["version"], rk, r["resource"],
                                           r.get("scope") == "Namespaced")
                            found[(res.api_version, rk)] = res
            self._resources = found
        return self._resources

    def _legacy_discovery(self, root: str, doc: dict[str, Any]) -> dict[tuple[str, str], Resource]:
        found: dict[tuple[str, str], Resource] = {}
        gvs = [f"{root}/{v}" for v in doc.get("versions", [])] if root == "/api" else [
            f"/apis/{v['groupVersion']}" for g in doc.get("groups", []) for v in g.get("versions", [])]
        for path in gvs:
            gv = path.removeprefix("/api/").removeprefix("/apis/")
            group, version = split_api_version(gv)
            for r in self.call("GET", path).get("resources", []):
                if "/" in r["name"]:
                    continue
                found[(gv, r["kind"])] = Resource(group, version, r["kind"], r["name"], r["namespaced"])
        return found

    def refresh_discovery(self) -> None:
        self._resources = None

    def resource_for(self, obj_or_api_version: dict[str, Any] | str, kind: str | None = None) -> Resource:
        if isinstance(obj_or_api_version, dict):
            api_version, kind = obj_or_api_version.get("apiVersion", ""), obj_or_api_version.get("kind", "")
        else:
            api_version = obj_or_api_version
        assert kind is not None
        res = self.resources().get((api_version, kind))
        if res is None:
            self.refresh_discovery()
            res = self.resources().get((api_version, kind))
        if res is None:
            raise ApplyError(f"the cluster does not serve {kind} in {api_version}",
                             hint="is its CRD installed and Established? Check the application that "
                                  "provides it, or the apiVersion in the manifest")
        return res

    def has_kind(self, api_version: str, kind: str) -> bool:
        return (api_version, kind) in self.resources()

    # -- objects ------------------------------------------------------------------------------

    def apply(self, obj: dict[str, Any], *, force: bool = False, dry_run: bool = False,
              field_manager: str = FIELD_MANAGER) -> dict[str, Any]:
        """Server-side apply of one object; returns the object the server holds (or would hold)."""
        res = self.resource_for(obj)
        meta = obj.get("metadata", {})
        query: dict[str, Any] = {"fieldManager": field_manager}
        if force:
            query["force"] = "true"
        if dry_run:
            query["dryRun"] = "All"
        path = res.path(meta.get("namespace") if res.namespaced else None, meta["name"])
        return self.call("PATCH", path, query=query, body=obj, content_type="application/apply-patch+yaml")

    def get(self, obj: dict[str, Any]) -> dict[str, Any] | None:
        res = self.resource_for(obj)
        meta = obj.get("metadata", {})
        try:
            return self.call("GET", res.path(meta.get("namespace") if res.namespaced else None, meta["name"]))
        except KubeApiError as e:
            if e.status == 404:
                return None
            raise

    def list(self, api_version: str, kind: str, *, namespace: str | None = None,
             label_selector: str | None = None) -> list[dict[str, Any]]:
        """All objects of a kind (one request per 500), with apiVersion/kind filled in."""
        res = self.resource_for(api_version, kind)
        out: list[dict[str, Any]] = []
        for item in self.pages(res.path(namespace if res.namespaced else None), label_selector):
            item.setdefault("apiVersion", res.api_version)
            item.setdefault("kind", kind)
            out.append(item)
        return out

    def pages(self, path: str, label_selector: str | None = None,
              accept: str = "application/json") -> Iterator[dict[str, Any]]:
        """Every item of a LIST at ``path``, 500 per request (``accept`` may ask for metadata only)."""
        query: dict[str, Any] = {"limit": 500}
        if label_selector:
            query["labelSelector"] = label_selector
        while True:
            page = self.call("GET", path, query=query, accept=accept)
            yield from page.get("items") or []  # a metadata-only LIST of nothing has "items": null
            cont = (page.get("metadata") or {}).get("continue")
            if not cont:
                return
            query["continue"] = cont

    def delete(self, obj: dict[str, Any], *, propagation: str = "Background") -> bool:
        """Delete one object; False when it was already gone."""
        res = self.resource_for(obj)
        meta = obj.get("metadata", {})
        try:
            self.call("DELETE", res.path(meta.get("namespace") if res.namespaced else None, meta["name"]),
                      body={"propagationPolicy": propagation}, content_type="application/json")
            return True
        except KubeApiError as e:
            if e.status == 404:
                return False
            raise


def _decode(data: bytes | None) -> dict[str, Any]:
    if not data:
        return {}
    try:
        return json.loads(data)  # type: ignore[no-any-return]
    except ValueError:  # plain-text endpoints such as /readyz
        return {"text": data.decode(errors="replace")}


def _api_error(e: HttpError, method: str, path: str, tried: str = "") -> KubeApiError:
    try:
        status = json.loads(e.body or "{}")
    except ValueError:
        status = {}
    message = status.get("message") or e.reason or str(e)
    return KubeApiError(e.status or 0, status.get("reason", e.reason or ""), f"{method} {path}: {message}{tried}",
                        status.get("details"))
