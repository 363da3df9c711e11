"""A real Flux reconciles kfdeploy's export on the local control plane.

Flux's source-controller and kustomize-controller (``make tools-flux``) run as local processes
against the kwok API server, with Flux's CRDs from the same modules; they read a Git repository
this test serves over http on 127.0.0.1 (``git http-backend``). Steps: export the default
platform, seed its credentials, push, and see every Kustomization Ready in dependency order and
``kfdeploy status`` Healthy; edit the spec, re-export and push, and see Flux apply only the
change; remove an application and see Flux prune it, its PersistentVolumeClaim kept.
Opt-in: ``-m flux`` (skipped with the reason when the controllers are not built).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from kfdeploy.cli import cli
from kfdeploy.kube.client import Cluster
from kfdeploy.kube.wait import wait_established
from tests.cluster.conftest import SharedCluster, cli_run, eventually

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.flux
KUSTOMIZATION = "kustomize.toolkit.fluxcd.io/v1"
NAMESPACE = "flux-system"


def flux_dir() -> Path:
    """Where tools/build-flux.sh puts the controllers and CRDs (same versions, same key)."""
    def version(name: str) -> str:
        text = (REPO / "tools" / "flux" / name / "go.mod").read_text()
        found = re.search(rf"^require github.com/fluxcd/{name} (\S+)$", text, re.M)
        assert found, f"tools/flux/{name}/go.mod names no version"
        return found.group(1)
    key = f"flux_source-{version('source-controller')}_kustomize-{version('kustomize-controller')}"
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    return Path(os.environ.get("KFDEPLOY_FLUX_DIR", cache / "kfdeploy" / "tools" / key))


FLUX = flux_dir()
if not all((FLUX / "bin" / c).is_file() for c in ("source-controller", "kustomize-controller")):
    pytest.skip(f"Flux's controllers are not built in {FLUX}: run `make tools-flux`", allow_module_level=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# -- a Git server on loopback ------------------------------------------------------------------------

def git(cwd: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}
    return subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True).stdout


def serve_git(root: Path) -> ThreadingHTTPServer:
    """Smart http for the bare repositories under ``root``, through ``git http-backend`` (CGI)."""
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.backend()

        def do_POST(self) -> None:
            self.backend()

        def backend(self) -> None:
            path, _, query = self.path.partition("?")
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            env = {"PATH": os.environ["PATH"], "GIT_PROJECT_ROOT": str(root), "GIT_HTTP_EXPORT_ALL": "1",
                   "REQUEST_METHOD": self.command, "PATH_INFO": path, "QUERY_STRING": query,
                   "CONTENT_TYPE": self.headers.get("Content-Type", ""), "CONTENT_LENGTH": str(len(body)),
                   "REMOTE_ADDR": "127.0.0.1", "GIT_CONFIG_NOSYSTEM": "1"}
            out = subprocess.run(["git", "http-backend"], input=body, env=env, capture_output=True).stdout
            head, _, payload = out.partition(b"\r\n\r\n")
            status, headers = 200, []
            for line in head.decode().split("\r\n"):
                name, _, value = line.partition(": ")
                if name.lower() == "status":
                    status = int(value.split()[0])
                elif name:
                    headers.append((name, value))
            self.send_response(status)
            for name, value in headers:
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


# -- Flux as local processes ---------------------------------------------------------------------------

@dataclass
class Flux:
    kube: Cluster
    repo_url: str
    work: Path  # the clone the test exports into and pushes from
    logs: Path

    def push(self, message: str) -> str:
        git(self.work, "add", "-A")
        git(self.work, "commit", "-q", "--allow-empty", "-m", message)
        git(self.work, "push", "-q", "origin", "HEAD:main")
        return git(self.work, "rev-parse", "HEAD").strip()

    def kustomizations(self) -> dict[str, dict[str, Any]]:
        return {k["metadata"]["name"]: k for k in self.kube.list(KUSTOMIZATION, "Kustomization", namespace=NAMESPACE)}

    def reconcile_now(self) -> None:
        """Ask source-controller to fetch at once (``flux reconcile source git``)."""
        stamp = str(time.time())
        self.kube.apply({"apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository",
                         "metadata": {"name": "kfdeploy", "namespace": NAMESPACE,
                                      "annotations": {"reconcile.fluxcd.io/requestedAt": stamp}}},
                        force=True, field_manager="flux-reconcile")  # not the manager that owns its spec

    def tail(self) -> str:
        return "\n".join(f"--- {p.name}\n" + "\n".join(p.read_text(errors="replace").splitlines()[-15:])
                         for p in sorted(self.logs.glob("*.log")))


def ready(k: dict[str, Any]) -> dict[str, Any] | None:
    return next((c for c in (k.get("status") or {}).get("conditions") or [] if c["type"] == "Ready"), None)


def forget_flux_objects(kube: Cluster) -> None:
    """Delete the Flux objects of the test namespace, their finalizers dropped (no controller
    runs to finalize them; the objects they applied stay)."""
    for api_version, kind in ((KUSTOMIZATION, "Kustomization"), ("source.toolkit.fluxcd.io/v1", "GitRepository")):
        for obj in kube.list(api_version, kind, namespace=NAMESPACE):
            ref = {"apiVersion": api_version, "kind": kind,
                   "metadata": {"name": obj["metadata"]["name"], "namespace": NAMESPACE}}
            kube.call("PATCH", kube.resource_for(ref).path(NAMESPACE, obj["metadata"]["name"]),
                      body={"metadata": {"finalizers": None}}, content_type="application/merge-patch+json")
            kube.delete(ref)


@pytest.fixture(scope="module")
def flux(cluster: SharedCluster, tmp_path_factory: pytest.TempPathFactory,
         request: pytest.FixtureRequest) -> Iterator[Flux]:
    if "flux" not in str(request.config.getoption("markexpr") or ""):
        pytest.skip("opt-in: run with -m flux (it reconciles the whole default platform through Flux)")
    tmp = tmp_path_factory.mktemp("flux")
    kube = Cluster.connect(cluster.kubeconfig, cluster.context)
    crds = [d for p in sorted((FLUX / "crds").rglob("*.yaml")) for d in yaml.safe_load_all(p.read_text()) if d]
    for crd in crds:
        kube.apply(crd)
    assert wait_established(kube, crds, time.monotonic() + 120) == []
    kube.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}})
    forget_flux_objects(kube)  # a run killed midway leaves them; readiness times must be this run's
    (tmp / "srv").mkdir()
    git(tmp / "srv", "init", "-q", "--bare", "-b", "main", "platform.git")
    git(tmp, "clone", "-q", str(tmp / "srv" / "platform.git"), "work")
    server = serve_git(tmp / "srv")
    logs = tmp / "logs"
    logs.mkdir()
    (tmp / "storage").mkdir()
    env = {**os.environ, "KUBECONFIG": str(cluster.kubeconfig), "RUNTIME_NAMESPACE": NAMESPACE}
    storage = free_port()
    def common() -> list[str]:  # each controller its own loopback ports
        return ["--enable-leader-election=false", f"--metrics-addr=127.0.0.1:{free_port()}",
                f"--health-addr=127.0.0.1:{free_port()}", "--requeue-dependency=5s", "--log-level=info"]
    commands = {
        "source-controller": [f"--storage-path={tmp / 'storage'}", f"--storage-addr=127.0.0.1:{storage}",
                              f"--storage-adv-addr=127.0.0.1:{storage}"],
        "kustomize-controller": ["--no-remote-bases=true", "--concurrent=4"],
    }
    procs = [subprocess.Popen([str(FLUX / "bin" / name), *common(), *args], env=env,
                              stdout=(logs / f"{name}.log").open("w"), stderr=subprocess.STDOUT)
             for name, args in commands.items()]
    try:
        yield Flux(kube, f"http://127.0.0.1:{server.server_address[1]}/platform.git", tmp / "work", logs)
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
        server.shutdown()
        forget_flux_objects(kube)
        shutil.rmtree(tmp / "storage", ignore_errors=True)


def spec_file(path: Path, drop: tuple[str, ...] = (), params: dict[str, Any] | None = None) -> Path:
    """The repository's kfdef.yaml, named after this test (its own inventory), optionally edited."""
    data = yaml.safe_load((REPO / "kfdef.yaml").read_text())
    data["metadata"]["name"] = "fluxed"
    data["spec"]["applications"] = [a for a in data["spec"]["applications"] if a["name"] not in drop]
    data["spec"]["params"] = params or {}
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def export(flux: Flux, spec: Path) -> dict[str, Any]:
    """``kfdeploy export`` (it reaches no cluster) into the clone the test pushes from."""
    result = CliRunner().invoke(cli, ["export", "-f", str(spec), "--format", "flux", "-d", str(flux.work),
                                      "--repo-url", flux.repo_url, "-o", "json"])
    assert result.exit_code == 0, result.output
    return dict(json.loads(result.stdout))


def synced(flux: Flux, revision: str, names: set[str], timeout: float = 900) -> dict[str, dict[str, Any]]:
    """Wait until exactly ``names`` are Kustomizations, each Ready at ``revision``."""
    def done(ks: dict[str, dict[str, Any]]) -> bool:
        return set(ks) == names | {"kfdeploy"} and all(
            (ready(k) or {}).get("status") == "True" and revision in str(k["status"].get("lastAppliedRevision"))
            for k in ks.values())
    try:
        return eventually(flux.kustomizations, done, f"every Kustomization Ready at {revision[:8]}", timeout)
    except BaseException:
        print(flux.tail())
        raise


def live_versions(kube: Cluster, objects: list[dict[str, Any]]) -> dict[str, str]:
    """A version per object that moves only when its content is written: ``generation`` where
    the server keeps one, else ``resourceVersion`` (objects without status)."""
    out = {}
    for obj in objects:
        live = kube.get(obj)
        if live is not None:
            meta = live["metadata"]
            key = f"{obj['kind']}/{meta.get('namespace', '')}/{meta['name']}"
            out[key] = str(meta.get("generation") or ("rv" + meta["resourceVersion"] if "status" not in live else ""))
    return {k: v for k, v in out.items() if v}


def test_flux_reconciles_the_export(cluster: SharedCluster, flux: Flux, tmp_path: Path) -> None:
    spec = spec_file(tmp_path / "kfdef.yaml")
    result = export(flux, spec)
    names = set(result["clusters"][0]["applications"])
    code, _, err = cli_run(cluster, "credentials", "seed", "-f", str(spec))
    assert code == 0, err
    for obj in yaml.safe_load_all((flux.work / "clusters/fluxed/source.yaml").read_text()):
        flux.kube.apply(obj, field_manager="flux-e2e")
    revision = flux.push("kfdeploy export")

    # 1. Every Kustomization Ready, each after the ones it depends on; kfdeploy status Healthy.
    ks = synced(flux, revision, names)
    first_ready = {n: datetime.fromisoformat(ready(k)["lastTransitionTime"].replace("Z", "+00:00"))  # type: ignore[index]
                   for n, k in ks.items()}
    edges = [(n, d["name"]) for n, k in ks.items() for d in k["spec"].get("dependsOn", [])]
    assert edges
    for app, dep in edges:
        assert first_ready[dep] <= first_ready[app], f"{app} became Ready before its dependency {dep}"
    code, out, err = cli_run(cluster, "status", "-f", str(spec), "-o", "json")
    assert code == 0, out
    assert {c["health"] for c in json.loads(out)["components"]} == {"Healthy"}
    code, out, err = cli_run(cluster, "plan", "-f", str(spec), "-o", "json")
    plan = json.loads(out)
    noisy = [(a["name"], c) for a in plan["applications"] for c in a["changes"]]
    assert code == 0 and noisy == [], f"plan after Flux applied the export: {noisy[:10]}"

    # 2. An edit reaches the cluster as exactly that change.
    from kfdeploy.render import render
    from kfdeploy.spec import load_spec
    objects = render(load_spec(str(spec))).objects
    before = live_versions(flux.kube, objects)
    edited = spec_file(tmp_path / "kfdef.yaml", params={"central-dashboard": {"replicas": 2}})
    result = export(flux, edited)
    assert result["written"] == ["apps/central-dashboard/manifests.yaml"]
    revision = flux.push("central-dashboard: 2 replicas")
    flux.reconcile_now()
    synced(flux, revision, names)
    after = live_versions(flux.kube, objects)
    changed = sorted(k for k in before if after.get(k) != before[k])
    assert changed == ["Deployment/kubeflow/centraldashboard"], changed

    # 3. A removed application is pruned, its PersistentVolumeClaims kept.
    gone = "katib"
    pvcs = [o for o in objects if o["kind"] == "PersistentVolumeClaim"
            and o["metadata"]["labels"].get("kfdeploy.io/application") == gone]
    deployments = [o for o in objects if o["kind"] == "Deployment"
                   and o["metadata"]["labels"].get("kfdeploy.io/application") == gone]
    assert pvcs and deployments
    export(flux, spec_file(tmp_path / "kfdef.yaml", drop=(gone,),
                                    params={"central-dashboard": {"replicas": 2}}))
    revision = flux.push(f"remove {gone}")
    flux.reconcile_now()
    synced(flux, revision, names - {gone})
    eventually(lambda: [d["metadata"]["name"] for d in deployments if flux.kube.get(d) is not None],
               lambda left: left == [], f"{gone}'s Deployments pruned", 300)
    assert all(flux.kube.get(p) is not None for p in pvcs), "a PersistentVolumeClaim was pruned"
