"""A small in-memory API server behind kfdeploy's own cluster client, for unit tests of
fail-closed logic: ``FakeCluster`` is a ``Cluster`` whose one raw-request method, ``call``,
answers from dicts, so discovery, LIST, GET and DELETE run through the real client code above
it. ``fail(method, path_regex, error)`` makes matching requests raise, which is how tests inject
a 403, a 500, a timeout or a refused connection. Cluster behaviour itself is tested against the
real API server in tests/cluster."""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from typing import Any

import urllib3.exceptions

from kfdeploy.kube.client import Cluster, KubeApiError, TransportError


@dataclass(frozen=True)
class Kind:
    group: str
    version: str
    kind: str
    plural: str
    namespaced: bool = True


BUILTIN = [
    Kind("", "v1", "Namespace", "namespaces", False),
    Kind("", "v1", "ConfigMap", "configmaps"),
    Kind("", "v1", "Secret", "secrets"),
    Kind("", "v1", "ServiceAccount", "serviceaccounts"),
    Kind("", "v1", "Service", "services"),
    Kind("", "v1", "Pod", "pods"),
    Kind("", "v1", "PersistentVolumeClaim", "persistentvolumeclaims"),
    Kind("", "v1", "Event", "events"),
    Kind("", "v1", "Binding", "bindings"),
    Kind("apps", "v1", "Deployment", "deployments"),
    Kind("rbac.authorization.k8s.io", "v1", "Role", "roles"),
    Kind("apiextensions.k8s.io", "v1", "CustomResourceDefinition", "customresourcedefinitions", False),
    Kind("admissionregistration.k8s.io", "v1", "ValidatingWebhookConfiguration",
         "validatingwebhookconfigurations", False),
]


def status_error(status: int, reason: str, method: str = "GET", path: str = "/") -> KubeApiError:
    return KubeApiError(status, reason, f"{method} {path}: {reason.lower()}")


def refused() -> Exception:
    return urllib3.exceptions.MaxRetryError(None, "/", urllib3.exceptions.NewConnectionError(
        None, "Failed to establish a new connection: [Errno 111] Connection refused"))  # type: ignore[arg-type]


def timed_out() -> Exception:
    return urllib3.exceptions.ReadTimeoutError(None, "/", "Read timed out. (read timeout=60)")  # type: ignore[arg-type]


class FakeCluster(Cluster):
    def __init__(self, kinds: list[Kind] | None = None) -> None:
        super().__init__(None, "fake")  # type: ignore[arg-type]
        self.kinds = list(BUILTIN if kinds is None else kinds)
        self.objects: dict[tuple[str, str, str, str], dict[str, Any]] = {}  # (apiVersion|plural, ns, name)
        self.failures: list[tuple[str, re.Pattern[str], Exception]] = []
        self.log: list[tuple[str, str]] = []

    # -- test setup -------------------------------------------------------------------------

    def add_kind(self, kind: Kind) -> None:
        self.kinds.append(kind)
        self.refresh_discovery()

    def add(self, *objs: dict[str, Any]) -> None:
        for obj in objs:
            kind = self._kind_of(obj["apiVersion"], obj["kind"])
            meta = obj["metadata"]
            self.objects[(kind.group, kind.plural, meta.get("namespace", "") if kind.namespaced else "",
                          meta["name"])] = copy.deepcopy(obj)

    def fail(self, method: str, path: str, error: Exception) -> None:
        """Requests with this method whose path matches the regex raise ``error``."""
        self.failures.append((method, re.compile(path), error))

    def names(self, kind: str) -> list[str]:
        return sorted(n for (_, plural, _, n) in self.objects if plural == self._plural(kind))

    # -- the client interface -------------------------------------------------------------

    def call(self, method: str, path: str, *, query: dict[str, Any] | None = None, body: Any = None,
             content_type: str | None = None, accept: str = "application/json",
             timeout: float = 60, retry: Any = None) -> dict[str, Any]:
        self.requests += 1
        self.log.append((method, path))
        for fail_method, pattern, error in self.failures:
            if fail_method == method and pattern.search(path):
                if isinstance(error, urllib3.exceptions.HTTPError):
                    raise TransportError(self.description, method, path, error) from error
                raise error
        if path in ("/api", "/apis"):
            return self._discovery(path)
        group, version, namespace, plural, name = _parse(path)
        kind = next((k for k in self.kinds if (k.group, k.version, k.plural) == (group, version, plural)), None)
        if kind is None:
            raise status_error(404, "NotFound", method, path)
        key = (group, plural, namespace, name)
        if method == "GET" and not name:
            return self._list(kind, namespace, (query or {}).get("labelSelector"), (query or {}).get("limit"))
        if method == "GET":
            if key not in self.objects:
                raise status_error(404, "NotFound", method, path)
            return copy.deepcopy(self.objects[key])
        if method == "DELETE":
            if self.objects.pop(key, None) is None:
                raise status_error(404, "NotFound", method, path)
            return {}
        if method == "PATCH":
            self.objects[key] = copy.deepcopy(body)
            return copy.deepcopy(body)  # type: ignore[no-any-return]
        raise status_error(405, "MethodNotAllowed", method, path)

    # -- helpers --------------------------------------------------------------------------

    def _discovery(self, root: str) -> dict[str, Any]:
        groups: dict[str, list[Kind]] = {}
        for k in self.kinds:
            if (root == "/api") == (k.group == ""):
                groups.setdefault(k.group, []).append(k)
        return {"kind": "APIGroupDiscoveryList", "items": [
            {"metadata": {"name": g}, "versions": [{"version": v, "resources": [
                {"resource": k.plural, "responseKind": {"kind": k.kind},
                 "scope": "Namespaced" if k.namespaced else "Cluster"} for k in ks if k.version == v]}
                for v in sorted({k.version for k in ks})]}
            for g, ks in groups.items()]}

    def _list(self, kind: Kind, namespace: str, selector: str | None, limit: Any) -> dict[str, Any]:
        wanted = dict(term.split("=", 1) for term in selector.split(",")) if selector else {}
        items = [copy.deepcopy(o) for (g, p, ns, _), o in sorted(self.objects.items())
                 if (g, p) == (kind.group, kind.plural) and (not namespace or ns == namespace)
                 and all((o["metadata"].get("labels") or {}).get(k) == v for k, v in wanted.items())]
        if kind.kind == "Binding":
            raise status_error(405, "MethodNotAllowed")  # create-only, as on a real server
        meta: dict[str, Any] = {}
        if isinstance(limit, int) and len(items) > limit:
            meta["remainingItemCount"] = len(items) - limit
            items = items[:limit]
        return {"items": items, "metadata": meta}

    def _kind_of(self, api_version: str, kind: str) -> Kind:
        group, _, version = api_version.rpartition("/")
        return next(k for k in self.kinds if (k.group, k.version, k.kind) == (group, version, kind))

    def _plural(self, kind: str) -> str:
        return next(k.plural for k in self.kinds if k.kind == kind)


def _parse(path: str) -> tuple[str, str, str, str, str]:
    """(group, version, namespace, plural, name) of a REST path."""
    parts = path.strip("/").split("/")
    if parts[0] == "api":
        group, version, rest = "", parts[1], parts[2:]
    else:
        group, version, rest = parts[1], parts[2], parts[3:]
    namespace = ""
    if len(rest) >= 3 and rest[0] == "namespaces":
        namespace, rest = rest[1], rest[2:]
    return group, version, namespace, rest[0], rest[1] if len(rest) > 1 else ""
