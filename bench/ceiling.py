"""The API server's own ceiling: server-side applies per second with 1, 4 and 8 clients.

Each client is a process with one kept-alive HTTPS connection that sends pre-serialised apply
bodies of the rendered objects (its share, round-robin) and reads each answer: as little client
work per request as Python allows, so the number is the server's (on this machine, where client
and server share the cores). Namespaces and CRDs go first (timed apart: a large CRD costs the
server far more than any other create), then the CRDs are waited Established and the server
is left a few seconds to rebuild its OpenAPI, then the bulk of the objects is timed: the
same objects, in the order any correct client must use.
Each concurrency level starts on a fresh cluster, so every apply is a create, as in a fresh
install.

    python bench/ceiling.py --objects 1000 [--clients 1,4,8]
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import ssl
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import harness
import kubernetes.client
import kubernetes.config
import synth

from kfdeploy.kube.client import Cluster
from kfdeploy.kube.wait import wait_established

FIRST = ("Namespace", "CustomResourceDefinition")
SETTLE = 5.0  # seconds for the API server to rebuild its OpenAPI after the CRDs changed
Item = tuple[str, bytes]  # (request path, body)


@dataclass(frozen=True)
class Endpoint:
    host: str
    port: int
    cert: str | None
    key: str | None
    ca: str | None
    token: str | None


def endpoint(kubeconfig: Path) -> Endpoint:
    cfg = kubernetes.client.Configuration()
    kubernetes.config.load_kube_config(config_file=str(kubeconfig), client_configuration=cfg,
                                       persist_config=False)
    url = urlparse(cfg.host)
    token = (cfg.api_key or {}).get("authorization")
    return Endpoint(url.hostname or "127.0.0.1", url.port or 443, cfg.cert_file, cfg.key_file,
                    cfg.ssl_ca_cert, token)


def connect(ep: Endpoint) -> http.client.HTTPSConnection:
    ctx = ssl.create_default_context(cafile=ep.ca) if ep.ca else ssl._create_unverified_context()
    if ep.cert:
        ctx.load_cert_chain(ep.cert, ep.key)
    return http.client.HTTPSConnection(ep.host, ep.port, context=ctx, timeout=120)


def client(ep: Endpoint, items: list[Item], start: Any, results: Any) -> None:
    conn = connect(ep)
    headers = {"Content-Type": "application/apply-patch+yaml", "Accept": "application/json"}
    if ep.token:
        headers["Authorization"] = ep.token
    errors = 0
    start.wait()
    for path, body in items:
        conn.request("PATCH", path, body=body, headers=headers)
        resp = conn.getresponse()
        resp.read()
        errors += resp.status >= 300
    results.put(errors)


def run_clients(ep: Endpoint, items: list[Item], clients: int) -> tuple[float, int]:
    """Seconds for ``clients`` processes to apply ``items`` between them; and the error count."""
    if not items:
        return 0.0, 0
    ctx = multiprocessing.get_context("fork")
    start, results = ctx.Event(), ctx.Queue()
    procs = [ctx.Process(target=client, args=(ep, items[i::clients], start, results)) for i in range(clients)]
    for p in procs:
        p.start()
    time.sleep(0.5)  # connections made before the clock starts
    t0 = time.perf_counter()
    start.set()
    errors = sum(results.get() for _ in procs)
    seconds = time.perf_counter() - t0
    for p in procs:
        p.join()
    return seconds, errors


def items_for(cluster: Cluster, objs: list[dict[str, Any]]) -> list[Item]:
    out = []
    for o in objs:
        res = cluster.resource_for(o)
        meta = o["metadata"]
        path = res.path(meta.get("namespace") if res.namespaced else None, meta["name"])
        out.append((f"{path}?fieldManager=bench-ceiling", json.dumps(o, separators=(",", ":")).encode()))
    return out


def ceiling(kubeconfig: Path, objs: list[dict[str, Any]], clients: int) -> dict[str, float]:
    """One fresh cluster's measurement at one concurrency level: the bulk of the objects, after
    the namespaces and CRDs are in, Established, and the server has rebuilt its OpenAPI."""
    cluster = Cluster.connect(kubeconfig)
    ep = endpoint(kubeconfig)
    first = [o for o in objs if o["kind"] in FIRST]
    rest = [o for o in objs if o["kind"] not in FIRST]
    s1, e1 = run_clients(ep, items_for(cluster, first), clients)
    crds = [o for o in first if o["kind"] == "CustomResourceDefinition"]
    if wait_established(cluster, crds, time.monotonic() + 300):
        raise SystemExit("ceiling: CRDs not Established after 300 s")
    time.sleep(SETTLE)
    s2, e2 = run_clients(ep, items_for(cluster, rest), clients)
    if e1 + e2:
        raise SystemExit(f"ceiling: {e1 + e2} applies failed with {clients} client(s)")
    return {"clients": clients, "first_seconds": s1, "first": len(first), "seconds": s2, "objects": len(rest),
            "per_second": len(rest) / s2}


def measure(objects: int, levels: list[int], work: Path) -> list[dict[str, float]]:
    """Ceiling at each level over ``objects`` synthetic objects, each on a fresh cluster."""
    spec = synth.generate(objects, work / "apps", harness.PREFIX + "ceiling")
    manifests = work / "build"
    harness.kfdeploy_build(spec, manifests)
    objs = harness.rendered_objects(manifests)
    rows = []
    try:
        for n in levels:
            rows.append(ceiling(harness.fresh_cluster(spec), objs, n))
    finally:
        harness.delete_cluster(spec)
    return rows


def report_rows(rows: list[dict[str, float]]) -> str:
    lines = [f"  {'clients':>8}{'namespaces+CRDs s':>19}{'rest s':>9}{'objects':>9}{'applies/s':>11}"]
    lines += [f"  {r['clients']:>8}{r['first_seconds']:>19.2f}{r['seconds']:>9.2f}{r['objects']:>9.0f}"
              f"{r['per_second']:>11.0f}" for r in rows]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, default=1000)
    parser.add_argument("--clients", default="1,4,8")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="kfdeploy-bench-") as tmp:
        rows = measure(args.objects, [int(c) for c in args.clients.split(",")], Path(tmp))
    print(f"API server ceiling, {args.objects} objects (server-side apply, creates)")
    print(report_rows(rows))


if __name__ == "__main__":
    main()

