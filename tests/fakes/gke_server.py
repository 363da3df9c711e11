"""A local fake of the GKE API (container v1 REST), just what kfdeploy's gke platform calls,
plus the few Compute Engine reads its pre-flight makes (a region's zones, a zone's accelerator
and machine types), served from ``offers`` and ``regions``.

It keeps clusters in memory, records every request (method name, path, JSON body), finishes an
operation on its first poll (``polls_to_finish``), applying its effect only then as GKE does, and
can be told to fail: an HTTP error for the next call of a method, or an error for the next
operation a method starts (how GKE reports stock-outs). Paths and verbs are those of the
``google.cloud.container_v1`` REST transport (``/v1/{name=projects/*/locations/*/clusters/*}``).
"""

from __future__ import annotations

import base64
import itertools
import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

CLUSTER = r"/v1/(?P<parent>projects/[^/]+/locations/[^/]+)/clusters/(?P<cluster>[^/:]+)"
ROUTES: list[tuple[str, str, str]] = [
    ("GET", CLUSTER + "$", "get_cluster"),
    ("DELETE", CLUSTER + "$", "delete_cluster"),
    ("POST", r"/v1/(?P<parent>projects/[^/]+/locations/[^/]+)/clusters$", "create_cluster"),
    ("POST", CLUSTER + "/nodePools$", "create_node_pool"),
    ("POST", CLUSTER + "/nodePools/(?P<pool>[^/:]+):setAutoscaling$", "set_node_pool_autoscaling"),
    ("GET", r"/v1/(?P<parent>projects/[^/]+/locations/[^/]+)/operations/(?P<op>[^/]+)$",
     "get_operation"),
    ("GET", r"/v1/(?P<parent>projects/[^/]+/locations/[^/]+)/serverConfig$", "get_server_config"),
    ("GET", r"/compute/v1/projects/[^/]+/regions/(?P<region>[^/]+)$", "get_region"),
    ("GET", r"/compute/v1/projects/[^/]+/zones/(?P<zone>[^/]+)/acceleratorTypes$", "list_accelerator_types"),
    ("GET", r"/compute/v1/projects/[^/]+/zones/(?P<zone>[^/]+)/machineTypes/(?P<machine>[^/]+)$",
     "get_machine_type"),
]
MACHINES = frozenset({"e2-standard-8", "n1-standard-8", "n1-standard-16", "g2-standard-8"})
CA_PEM = b"-----BEGIN CERTIFICATE-----\nMIIFAKE\n-----END CERTIFICATE-----\n"
CA_DATA = base64.b64encode(CA_PEM).decode()
ENDPOINT_IP = "34.118.0.10"


@dataclass(frozen=True)
class Recorded:
    method: str
    path: str
    body: dict[str, Any]


@dataclass
class HttpFailure:
    http: int
    status: str
    message: str
    reason: str | None = None

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.http, "message": self.message, "status": self.status}
        if self.reason:
            error["details"] = [{"@type": "type.googleapis.com/google.rpc.ErrorInfo",
                                 "reason": self.reason, "domain": "googleapis.com"}]
        return {"error": error}


@dataclass
class PendingOp:
    """An operation and what it does to the state when it completes (unless it fails)."""

    op: dict[str, Any]
    effect: Callable[[], None]
    on_error: Callable[[], None]
    error: dict[str, Any] | None = None
    polls: int = 0


@dataclass
class FakeGke:
    """The in-memory state plus the failure plans; ``url`` is set once serving."""

    clusters: dict[str, dict[str, Any]] = field(default_factory=dict)
    requests: list[Recorded] = field(default_factory=list)
    http_failures: dict[str, list[HttpFailure]] = field(default_factory=dict)
    op_failures: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    ops: dict[str, PendingOp] = field(default_factory=dict)
    url: str = ""
    polls_to_finish: int = 1
    held: dict[str, list[Any]] = field(default_factory=dict)
    # What Compute Engine offers: zone -> {"accelerators": {...}, "machines": {...}}.
    offers: dict[str, dict[str, set[str]]] = field(default_factory=lambda: {
        "us-central1-a": {"accelerators": {"nvidia-tesla-t4", "nvidia-l4"}, "machines": set(MACHINES)},
        "us-central1-b": {"accelerators": {"nvidia-tesla-t4", "nvidia-l4"}, "machines": set(MACHINES)},
        "us-central1-c": {"accelerators": {"nvidia-tesla-t4"}, "machines": set(MACHINES)},
    })
    regions: dict[str, list[str]] = field(default_factory=lambda: {
        "us-central1": ["us-central1-a", "us-central1-b", "us-central1-c"]})
    versions: list[str] = field(default_factory=lambda: ["1.33.5-gke.1200", "1.32.9-gke.1100", "1.31.13-gke.1000"])
    _ids: Any = field(default_factory=lambda: itertools.count(1))
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def fail(self, method: str, http: int, status: str, message: str,
             reason: str | None = None) -> None:
        """The next call of ``method`` answers this HTTP error."""
        self.http_failures.setdefault(method, []).append(HttpFailure(http, status, message, reason))

    def fail_operation(self, method: str, code: int, message: str) -> None:
        """The next operation ``method`` starts finishes with this google.rpc.Status."""
        self.op_failures.setdefault(method, []).append({"code": code, "message": message})

    def hold_status(self, cluster: str, status: str, reads: int) -> None:
        """The cluster reports ``status`` for its next ``reads`` reads (another operation)."""
        self.held[cluster] = [status, reads]

    def calls(self, method: str) -> list[Recorded]:
        return [r for r in self.requests if r.method == method]

    def handle(self, verb: str, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        for route_verb, pattern, method in ROUTES:
            match = re.match(pattern, path)
            if route_verb == verb and match:
                with self._lock:
                    self.requests.append(Recorded(method, path, body))
                    failures = self.http_failures.get(method)
                    if failures:
                        failure = failures.pop(0)
                        return failure.http, failure.body()
                    answer: tuple[int, dict[str, Any]] = getattr(self, "_" + method)(
                        body=body, **match.groupdict())
                    return answer
        return 404, HttpFailure(404, "NOT_FOUND", f"no route {verb} {path}").body()

    # -- the methods -------------------------------------------------------------------------

    def _get_cluster(self, parent: str, cluster: str, body: dict[str, Any]) -> tuple[int, Any]:
        found = self.clusters.get(f"{parent}/clusters/{cluster}")
        if found is None:
            return _not_found(f"{parent}/clusters/{cluster}")
        held = self.held.get(f"{parent}/clusters/{cluster}")
        if held and held[1] > 0:
            held[1] -= 1
            return 200, {**found, "status": held[0]}
        return 200, found

    def _create_cluster(self, parent: str, body: dict[str, Any]) -> tuple[int, Any]:
        spec = body["cluster"]
        key = f"{parent}/clusters/{spec['name']}"
        if key in self.clusters:
            return 409, HttpFailure(409, "ALREADY_EXISTS", f"Already exists: {key}.").body()
        cluster = {**spec, "status": "PROVISIONING", "selfLink": key, "endpoint": "",
                   "nodePools": [{**p, "status": "PROVISIONING"} for p in spec.get("nodePools", [])]}
        self.clusters[key] = cluster

        def done() -> None:
            version = spec.get("initialClusterVersion") or "1.33"
            cluster.update(status="RUNNING", endpoint=ENDPOINT_IP,
                           masterAuth={"clusterCaCertificate": CA_DATA},
                           currentMasterVersion=f"{version}.5-gke.1200",
                           currentNodeCount=_node_count(cluster))
            for pool in cluster["nodePools"]:
                pool["status"] = "RUNNING"

        def failed() -> None:
            cluster.update(status="ERROR", statusMessage="creation failed")
        return 200, self._start("create_cluster", "CREATE_CLUSTER", parent, key, done, failed)

    def _create_node_pool(self, parent: str, cluster: str, body: dict[str, Any]) -> tuple[int, Any]:
        key = f"{parent}/clusters/{cluster}"
        if key not in self.clusters:
            return _not_found(key)
        pool = {**body["nodePool"], "status": "PROVISIONING"}
        self.clusters[key]["nodePools"].append(pool)

        def done() -> None:
            pool["status"] = "RUNNING"
            self.clusters[key]["currentNodeCount"] = _node_count(self.clusters[key])

        def failed() -> None:
            pool["status"] = "ERROR"
        return 200, self._start("create_node_pool", "CREATE_NODE_POOL", parent, key, done, failed)

    def _set_node_pool_autoscaling(self, parent: str, cluster: str, pool: str,
                                   body: dict[str, Any]) -> tuple[int, Any]:
        key = f"{parent}/clusters/{cluster}"
        pools = {p["name"]: p for p in self.clusters.get(key, {}).get("nodePools", [])}
        if pool not in pools:
            return _not_found(f"{key}/nodePools/{pool}")

        def done() -> None:
            pools[pool]["autoscaling"] = body["autoscaling"]
        return 200, self._start("set_node_pool_autoscaling", "SET_NODE_POOL_MANAGEMENT", parent,
                                key, done, lambda: None)

    def _delete_cluster(self, parent: str, cluster: str, body: dict[str, Any]) -> tuple[int, Any]:
        key = f"{parent}/clusters/{cluster}"
        if key not in self.clusters:
            return _not_found(key)
        self.clusters[key]["status"] = "STOPPING"
        def done() -> None:
            self.clusters.pop(key, None)
        return 200, self._start("delete_cluster", "DELETE_CLUSTER", parent, key, done, lambda: None)

    def _get_operation(self, parent: str, op: str, body: dict[str, Any]) -> tuple[int, Any]:
        pending = self.ops.get(op)
        if pending is None:
            return _not_found(f"{parent}/operations/{op}")
        pending.polls += 1
        if pending.op["status"] != "DONE" and pending.polls >= self.polls_to_finish:
            pending.op["status"] = "DONE"
            if pending.error is None:
                pending.effect()
            else:
                pending.on_error()
                pending.op["error"] = pending.error
                pending.op["statusMessage"] = pending.error["message"]
        return 200, pending.op

    def _get_server_config(self, parent: str, body: dict[str, Any]) -> tuple[int, Any]:
        return 200, {"defaultClusterVersion": self.versions[0], "validMasterVersions": self.versions,
                     "validNodeVersions": self.versions,
                     "channels": [{"channel": "REGULAR", "defaultVersion": self.versions[0],
                                   "validVersions": self.versions[:1]}]}

    def _get_region(self, region: str, body: dict[str, Any]) -> tuple[int, Any]:
        if region not in self.regions:
            return _not_found(f"regions/{region}")
        return 200, {"name": region, "zones": [f"https://www.googleapis.com/compute/v1/projects/p/zones/{z}"
                                               for z in self.regions[region]]}

    def _list_accelerator_types(self, zone: str, body: dict[str, Any]) -> tuple[int, Any]:
        if zone not in self.offers:
            return _not_found(f"zones/{zone}")
        return 200, {"items": [{"name": a, "zone": zone} for a in sorted(self.offers[zone]["accelerators"])]}

    def _get_machine_type(self, zone: str, machine: str, body: dict[str, Any]) -> tuple[int, Any]:
        if machine not in self.offers.get(zone, {}).get("machines", set()):
            return _not_found(f"zones/{zone}/machineTypes/{machine}")
        return 200, {"name": machine, "zone": zone}

    def _start(self, method: str, kind: str, parent: str, target: str,
               effect: Callable[[], None], on_error: Callable[[], None]) -> dict[str, Any]:
        name = f"operation-{next(self._ids)}"
        op = {"name": name, "operationType": kind, "status": "RUNNING",
              "selfLink": f"{parent}/operations/{name}", "targetLink": target}
        failures = self.op_failures.get(method)
        error = failures.pop(0) if failures else None
        self.ops[name] = PendingOp(op, effect, on_error, error)
        return dict(op)


def _node_count(cluster: dict[str, Any]) -> int:
    return sum(int(p.get("initialNodeCount", 0)) for p in cluster["nodePools"])


def _not_found(name: str) -> tuple[int, dict[str, Any]]:
    return 404, HttpFailure(404, "NOT_FOUND", f"Not found: {name}.").body()


class _Handler(BaseHTTPRequestHandler):
    fake: FakeGke

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        body = json.loads(raw) if raw else {}
        status, payload = self.fake.handle(self.command, self.path.split("?")[0], body)
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_DELETE = do_PUT = _serve

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        """Silence the per-request log lines."""


class GkeServer:
    """Serves a FakeGke on 127.0.0.1 at a free port, in a daemon thread."""

    def __init__(self) -> None:
        self.fake = FakeGke()
        handler = type("Handler", (_Handler,), {"fake": self.fake})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.fake.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)

    def __enter__(self) -> FakeGke:
        self._thread.start()
        return self.fake

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
