"""A real Flux on loopback: source-controller and kustomize-controller as local processes.

The controllers and their CRDs are the ones ``make tools-flux`` builds (tools/build-flux.sh, from
the Go module proxy); they run against a kwok API server and read a Git repository served over
http on 127.0.0.1 by ``git http-backend``. Shared by the cluster tier (tests/cluster/test_flux.py)
and the official-release benchmark (bench/releases.py).

- ``flux_dir()`` / ``built()``: where the controllers are, and whether they are there.
- ``serve_git(root)``: smart http for the bare repositories under ``root``.
- ``running(kube, kubeconfig, tmp)``: installs Flux's CRDs and namespace, makes an empty
  repository and a clone to push from, starts both controllers; yields a ``Flux``; stops them and
  forgets the Flux objects (the objects they applied stay).
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
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import yaml

from kfdeploy.kube.client import Cluster
from kfdeploy.kube.wait import wait_established

REPO = Path(__file__).resolve().parents[2]
KUSTOMIZATION = "kustomize.toolkit.fluxcd.io/v1"
GIT_REPOSITORY = "source.toolkit.fluxcd.io/v1"
NAMESPACE = "flux-system"
CONTROLLERS = ("source-controller", "kustomize-controller")
# the controllers reach the API server and the Git server on loopback, never through a proxy
_PROXY_VARS = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy")


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


def built() -> bool:
    return all((flux_dir() / "bin" / c).is_file() for c in CONTROLLERS)


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

def ready(k: dict[str, Any]) -> dict[str, Any] | None:
    """A Kustomization's Ready condition, if it has one."""
    return next((c for c in (k.get("status") or {}).get("conditions") or [] if c["type"] == "Ready"), None)


def synced(ks: dict[str, dict[str, Any]], revision: str, names: set[str]) -> bool:
    """Whether exactly ``names`` (and the root ``kfdeploy``) are Kustomizations, each Ready at ``revision``."""
    return set(ks) == names | {"kfdeploy"} and all(
        (ready(k) or {}).get("status") == "True" and revision in str(k["status"].get("lastAppliedRevision"))
        for k in ks.values())


@dataclass
class Flux:
    kube: Cluster
    repo_url: str
    work: Path  # the clone to export into and push from
    logs: Path

    def push(self, message: str) -> str:
        git(self.work, "add", "-A")
        git(self.work, "commit", "-q", "--allow-empty", "-m", message)
        git(self.work, "push", "-q", "origin", "HEAD:main")
        return git(self.work, "rev-parse", "HEAD").strip()

    def bootstrap(self, cluster: str) -> None:
        """Apply the export's ``clusters/<cluster>/source.yaml`` (what ``flux bootstrap`` would)."""
        for obj in yaml.safe_load_all((self.work / "clusters" / cluster / "source.yaml").read_text()):
            self.kube.apply(obj, field_manager="flux-e2e")

    def kustomizations(self) -> dict[str, dict[str, Any]]:
        return {k["metadata"]["name"]: k for k in self.kube.list(KUSTOMIZATION, "Kustomization", namespace=NAMESPACE)}

    def wait_synced(self, revision: str, names: set[str], timeout: float = 900) -> dict[str, dict[str, Any]]:
        """The Kustomizations once exactly ``names`` (and the root) are, each Ready at ``revision``;
        an AssertionError naming those that are not, with the controllers' last log lines."""
        deadline = time.monotonic() + timeout
        while True:
            ks = self.kustomizations()
            if synced(ks, revision, names):
                return ks
            if time.monotonic() > deadline:
                waiting = {n: (ready(k) or {}).get("message", "no Ready condition") for n, k in ks.items()
                           if (ready(k) or {}).get("status") != "True"}
                raise AssertionError(f"Kustomizations not Ready at {revision[:8]} within {timeout:.0f}s: "
                                     f"{sorted(names | {'kfdeploy'} - set(ks))} missing, not Ready: {waiting}\n"
                                     f"{self.tail()}")
            time.sleep(1)

    def reconcile_now(self) -> None:
        """Ask source-controller to fetch at once (``flux reconcile source git``)."""
        stamp = str(time.time())
        self.kube.apply({"apiVersion": GIT_REPOSITORY, "kind": "GitRepository",
                         "metadata": {"name": "kfdeploy", "namespace": NAMESPACE,
                                      "annotations": {"reconcile.fluxcd.io/requestedAt": stamp}}},
                        force=True, field_manager="flux-reconcile")  # not the manager that owns its spec

    def reconcile_again(self, timeout: float = 600) -> list[tuple[str, str, str]]:
        """Ask every Kustomization to reconcile at once (``flux reconcile kustomization``) at the
        revision it has; once each has, what each applied (``applied``)."""
        since = self.log_lines()
        stamp = str(time.time())
        names = set(self.kustomizations())
        for name in names:
            self.kube.apply({"apiVersion": KUSTOMIZATION, "kind": "Kustomization",
                             "metadata": {"name": name, "namespace": NAMESPACE,
                                          "annotations": {"reconcile.fluxcd.io/requestedAt": stamp}}},
                            force=True, field_manager="flux-reconcile")
        deadline = time.monotonic() + timeout
        while True:
            handled = {n for n, k in self.kustomizations().items()
                       if (k.get("status") or {}).get("lastHandledReconcileAt") == stamp}
            applied = self.applied(since)
            if handled >= names and {k for k, _, _ in applied} >= names:
                return applied
            if time.monotonic() > deadline:
                raise AssertionError(f"Kustomizations did not reconcile again within {timeout:.0f}s: "
                                     f"{sorted(names - handled)} not handled, "
                                     f"{sorted(names - {k for k, _, _ in applied})} applied nothing")
            time.sleep(1)

    def log_lines(self) -> int:
        return len((self.logs / "kustomize-controller.log").read_text(errors="replace").splitlines())

    def applied(self, since: int = 0) -> list[tuple[str, str, str]]:
        """(Kustomization, object, action) of every server-side apply kustomize-controller logged
        from line ``since`` on; action is created, configured, unchanged, ..."""
        out = []
        for line in (self.logs / "kustomize-controller.log").read_text(errors="replace").splitlines()[since:]:
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if entry.get("msg") == "server-side apply completed":
                out += [(entry.get("name", ""), obj, action) for obj, action in (entry.get("output") or {}).items()]
        return out

    def tail(self, lines: int = 15) -> str:
        return "\n".join(f"--- {p.name}\n" + "\n".join(p.read_text(errors="replace").splitlines()[-lines:])
                         for p in sorted(self.logs.glob("*.log")))


def forget_flux_objects(kube: Cluster) -> None:
    """Delete the Flux objects of its namespace, their finalizers dropped (no controller runs to
    finalize them; the objects they applied stay)."""
    for api_version, kind in ((KUSTOMIZATION, "Kustomization"), (GIT_REPOSITORY, "GitRepository")):
        for obj in kube.list(api_version, kind, namespace=NAMESPACE):
            ref = {"apiVersion": api_version, "kind": kind,
                   "metadata": {"name": obj["metadata"]["name"], "namespace": NAMESPACE}}
            kube.call("PATCH", kube.resource_for(ref).path(NAMESPACE, obj["metadata"]["name"]),
                      body={"metadata": {"finalizers": None}}, content_type="application/merge-patch+json")
            kube.delete(ref)


def install_crds(kube: Cluster) -> None:
    """Flux's CRDs (from the modules the controllers were built from) and its namespace."""
    crds = [d for p in sorted((flux_dir() / "crds").rglob("*.yaml")) for d in yaml.safe_load_all(p.read_text()) if d]
    for crd in crds:
        kube.apply(crd)
    not_established = wait_established(kube, crds, time.monotonic() + 120)
    assert not_established == [], f"Flux's CRDs not Established: {not_established}"
    kube.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}})


@contextmanager
def running(kube: Cluster, kubeconfig: Path, tmp: Path, concurrent: int = 4) -> Iterator[Flux]:
    """Both controllers against ``kubeconfig``'s cluster, reading an empty repository on loopback."""
    install_crds(kube)
    forget_flux_objects(kube)  # a run killed midway leaves them; readiness times must be this run's
    (tmp / "srv").mkdir(parents=True)
    git(tmp / "srv", "init", "-q", "--bare", "-b", "main", "platform.git")
    git(tmp, "clone", "-q", str(tmp / "srv" / "platform.git"), "work")
    server = serve_git(tmp / "srv")
    logs = tmp / "logs"
    logs.mkdir()
    (tmp / "storage").mkdir()
    env = {k: v for k, v in os.environ.items() if k not in _PROXY_VARS}
    env.update({"KUBECONFIG": str(kubeconfig), "RUNTIME_NAMESPACE": NAMESPACE})
    storage = free_port()
    def common() -> list[str]:  # each controller its own loopback ports
        return ["--enable-leader-election=false", f"--metrics-addr=127.0.0.1:{free_port()}",
                f"--health-addr=127.0.0.1:{free_port()}", "--requeue-dependency=5s", "--log-level=info"]
    commands = {
        "source-controller": [f"--storage-path={tmp / 'storage'}", f"--storage-addr=127.0.0.1:{storage}",
                              f"--storage-adv-addr=127.0.0.1:{storage}"],
        "kustomize-controller": ["--no-remote-bases=true", f"--concurrent={concurrent}"],
    }
    procs = [subprocess.Popen([str(flux_dir() / "bin" / name), *common(), *args], env=env,
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
