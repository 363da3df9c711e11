"""API faults against the real control plane: this session's kube-apiserver is killed in the
middle of an apply and started again by kwokctl; the apply rides it out and converges."""

from __future__ import annotations

import os
import re
import signal
import threading
import time
from pathlib import Path
from typing import Any

from kfdeploy.kube.client import Cluster
from kfdeploy.kube.engine import ApplyOptions, Engine
from kfdeploy.platforms.kwokctl import Kwokctl, workdir

from .conftest import CLUSTER_NAME
from .test_engine import configmap, deployment, service, unique


def apiserver_pid() -> int:
    """The kube-apiserver of this session's kwok cluster, checked by its command line, so no
    other cluster's server is ever touched."""
    cluster_dir = workdir() / "clusters" / CLUSTER_NAME
    pid = int((cluster_dir / "pids" / "kube-apiserver.pid").read_text().strip())
    cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    assert "kube-apiserver" in cmdline and str(cluster_dir) in cmdline, cmdline
    return pid


def test_apply_survives_an_api_server_restart_midway(cluster: Any, namespace: str) -> None:
    kube = Cluster.connect(cluster.kubeconfig, cluster.context)
    name = unique("restart")
    apps = [
        ("base", [configmap(f"base-{i}", namespace, "base", n=str(i)) for i in range(5)], []),
        ("web", [configmap(f"web-{i}", namespace, "web", n=str(i)) for i in range(20)]
         + [deployment("web", namespace, "web", replicas=2), service("web", namespace, "web", "web")],
         ["base"]),
    ]
    old_pid = apiserver_pid()
    outage: dict[str, Any] = {}

    def restart() -> None:
        time.sleep(3)  # down for a while: every request in flight fails and is retried
        started = time.monotonic()
        Kwokctl().start(CLUSTER_NAME, timeout=240)
        outage["restart_seconds"] = time.monotonic() - started
        # A scheduler or controller-manager whose leader lease ran out meanwhile exits; bring
        # it back as a kubelet would its static pod, so the cluster itself recovers.
        for _ in range(30):
            time.sleep(1)
            if Kwokctl.dead_components(CLUSTER_NAME):
                outage.setdefault("also_restarted", []).extend(Kwokctl.dead_components(CLUSTER_NAME))
                Kwokctl().start(CLUSTER_NAME, timeout=240)

    def progress(app: str, state: str, detail: str) -> None:
        if app == "web" and state == "applying" and "killed" not in outage:
            os.kill(old_pid, signal.SIGKILL)
            outage["killed"] = detail
            outage["thread"] = threading.Thread(target=restart)
            outage["thread"].start()

    engine = Engine(kube, name, "test-spec", ApplyOptions(timeout=300), progress)
    results = {r.name: r for r in engine.apply(engine.plan(apps))}
    outage["thread"].join()

    assert outage["killed"] == "22 object(s) to apply"  # killed before web's first object
    assert apiserver_pid() != old_pid  # a new server answered the rest
    assert {n: r.outcome for n, r in results.items()} == {"base": "applied", "web": "applied"}, \
        {n: r.error for n, r in results.items()}
    assert results["web"].created == 22
    live = kube.list("v1", "ConfigMap", namespace=namespace)
    assert {c["metadata"]["name"] for c in live} >= {f"web-{i}" for i in range(20)}
    again = Engine(kube, name, "test-spec", ApplyOptions(timeout=120))
    assert not again.plan(apps).has_changes  # converged: nothing left to do
    print(f"apiserver restart took {outage['restart_seconds']:.1f}s; apply made {kube.requests} requests;"
          f" components that exited meanwhile: {outage.get('also_restarted', [])}")


def test_a_deadline_passing_during_an_outage_names_what_was_in_flight(cluster: Any, namespace: str) -> None:
    kube = Cluster.connect(cluster.kubeconfig, cluster.context)
    name = unique("outage")
    apps = [("lonely", [configmap("lonely", namespace, "lonely", a="1")], [])]
    pid = apiserver_pid()

    def progress(app: str, state: str, detail: str) -> None:
        if state == "applying" and "/" not in detail:
            os.kill(pid, signal.SIGSTOP)  # the server hangs: connections open, nothing answers

    engine = Engine(kube, name, "test-spec", ApplyOptions(timeout=8), progress)
    plan = engine.plan(apps)
    try:
        (result,) = engine.apply(plan)
    finally:
        os.kill(pid, signal.SIGCONT)
    assert result.outcome == "failed"
    assert re.search(r"for (GET|PATCH) /apis?/\S+", result.error)  # the request in flight
    assert "deadline of application lonely" in result.error
    assert Engine(kube, name, "test-spec", ApplyOptions(timeout=60)).apply(plan)[0].outcome == "applied"


def test_apply_rides_out_a_server_that_hangs_for_a_while(cluster: Any, namespace: str) -> None:
    kube = Cluster.connect(cluster.kubeconfig, cluster.context)
    name = unique("hang")
    apps = [("paused", [configmap(f"paused-{i}", namespace, "paused", n=str(i)) for i in range(10)], [])]
    pid = apiserver_pid()
    paused: dict[str, threading.Thread] = {}

    def resume() -> None:
        time.sleep(4)
        os.kill(pid, signal.SIGCONT)

    def progress(app: str, state: str, detail: str) -> None:
        if state == "applying" and "thread" not in paused:
            os.kill(pid, signal.SIGSTOP)  # requests hang: connected, unanswered
            paused["thread"] = threading.Thread(target=resume)
            paused["thread"].start()

    engine = Engine(kube, name, "test-spec", ApplyOptions(timeout=120), progress)
    try:
        (result,) = engine.apply(engine.plan(apps))
    finally:
        paused["thread"].join()
        os.kill(pid, signal.SIGCONT)
    assert result.outcome == "applied", result.error
    assert result.created == 10
    assert apiserver_pid() == pid  # the same server, paused and resumed
