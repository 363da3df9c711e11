"""What every scenario shares: fresh kwok clusters, timed child processes with their peak memory
and API request counts, and the peers (the kubectl loop, helm) run the way a careful user runs them.

Every measured command is a child process, timed from the outside; its peak RSS is its VmHWM,
read until it exits. kfdeploy's own peak (without the helm or kubectl it starts) is written by a
small wrapper when it exits. kubectl's API requests are counted from its ``-v=6`` request log.
"""

from __future__ import annotations

import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from kfdeploy.platforms.kwok import KwokPlatform
from kfdeploy.spec import load_spec
from kfdeploy.tools import find_tool, tool_env

REPO = Path(__file__).resolve().parents[1]
PREFIX = "kfdeploy-bench-"
REQUEST_LINE = re.compile(r'"Response" verb="(GET|PATCH|POST|PUT|DELETE)"')  # kubectl -v=6
# Runs kfdeploy's CLI in-process and, when it exits, writes to the file named first its own peak
# RSS and when it finished applying objects (the last server-side apply outside its inventory).
# With KFDEPLOY_BENCH_SOURCE set, the kfdeploy of that checkout runs instead of the installed one
# (before/after comparisons against another commit).
_PROBE = """
import atexit, json, os, runpy, sys, threading, time
t0 = time.perf_counter()
out = sys.argv.pop(1)
source = os.environ.pop("KFDEPLOY_BENCH_SOURCE", "")
if source:
    sys.meta_path[:] = [f for f in sys.meta_path if "__editable__" not in getattr(f, "__module__", "")]
    sys.path.insert(0, source)
from kfdeploy.kube import client
seen = {"applies": 0, "last_apply": 0.0}
lock = threading.Lock()
plain_apply = client.Cluster.apply
def apply(self, obj, **kw):
    live = plain_apply(self, obj, **kw)
    if not kw.get("dry_run") and obj.get("metadata", {}).get("namespace") != "kfdeploy-system":
        with lock:
            seen["applies"] += 1
            seen["last_apply"] = time.perf_counter() - t0
    return live
client.Cluster.apply = apply
def report():
    # VmHWM, not getrusage: ru_maxrss survives exec, so it would start at the parent's size
    seen["rss_kb"] = int(next(l.split()[1] for l in open("/proc/self/status") if l.startswith("VmHWM:")))
    with open(out, "w") as f:
        json.dump(seen, f)
atexit.register(report)
sys.argv[0] = "kfdeploy"
runpy.run_module("kfdeploy", run_name="__main__")
"""


@dataclass
class Run:
    """One measured child process."""

    seconds: float
    returncode: int
    stdout: str
    stderr: str
    peak_mb: float  # the process and the children it waited for
    self_mb: float = 0.0  # the process alone, where known
    cpu: float = 0.0  # user + system seconds of the process and the children it waited for
    probe: dict[str, Any] | None = None  # kfdeploy's own account (see _PROBE)

    def check(self, what: str) -> Run:
        if self.returncode != 0:
            raise SystemExit(f"{what} failed (exit {self.returncode}):\n{self.stderr[-3000:]}")
        return self

    @property
    def kubectl_requests(self) -> int:
        return len(REQUEST_LINE.findall(self.stderr))


def measure(cmd: list[str], env: dict[str, str] | None = None) -> Run:
    """Run ``cmd``; its peak RSS is its VmHWM read until it exits (the kernel's ``ru_maxrss``
    survives exec, so it would start at this process's own size)."""
    start, used = time.perf_counter(), _children_cpu()
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, env=env or tool_env(), text=True)
        peak = 0
        while proc.poll() is None:
            peak = max(peak, _hwm_kb(proc.pid))
            time.sleep(0.05)
        seconds = time.perf_counter() - start
        out.seek(0)
        err.seek(0)
        return Run(seconds, proc.returncode, out.read(), err.read(), peak / 1024,
                   cpu=_children_cpu() - used)


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _hwm_kb(pid: int) -> int:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    return next((int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM:")), 0)


def kfdeploy(*args: str, env: dict[str, str] | None = None) -> Run:
    """``kfdeploy ARGS`` with its own peak RSS and apply span recorded; ``env`` is added to the
    tools' environment (``KFDEPLOY_BENCH_SOURCE``: run another checkout's kfdeploy)."""
    with tempfile.NamedTemporaryFile("r", suffix=".json") as probe:
        run = measure([sys.executable, "-c", _PROBE, probe.name, *args], env={**tool_env(), **(env or {})})
        text = Path(probe.name).read_text().strip()
        if text:
            run.probe = json.loads(text)
            run.self_mb = run.probe["rss_kb"] / 1024
    return run


def kfdeploy_apply(spec: Path, kubeconfig: Path, *flags: str,
                   env: dict[str, str] | None = None) -> tuple[Run, dict[str, Any]]:
    run = kfdeploy("apply", "-f", str(spec), "--yes", "-o", "json", "--kubeconfig", str(kubeconfig), *flags, env=env)
    run.check(f"kfdeploy apply -f {spec}")
    return run, json.loads(run.stdout)


def kfdeploy_plan(spec: Path, kubeconfig: Path, *flags: str, env: dict[str, str] | None = None) -> Run:
    """``kfdeploy plan`` that must find no changes (exit 0)."""
    run = kfdeploy("plan", "-f", str(spec), "-o", "json", "--kubeconfig", str(kubeconfig), *flags, env=env)
    return run.check(f"kfdeploy plan -f {spec} (a no-op expected)")


def source_tree(ref: str, dest: Path) -> Path:
    """This repository at ``ref`` (e.g. main), extracted into ``dest``: a kfdeploy to compare with."""
    dest.mkdir(parents=True, exist_ok=True)
    archive = subprocess.run(["git", "-C", str(REPO), "archive", ref], capture_output=True, check=True)
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive.stdout, check=True)
    return dest


def kfdeploy_build(spec: Path, out: Path, env: dict[str, str] | None = None) -> Run:
    return kfdeploy("build", "-f", str(spec), "-d", str(out), env=env).check(f"kfdeploy build -f {spec}")


def named_spec(source: Path, name: str, folder: Path) -> Path:
    """A copy of a KfDef (beside its original, so relative paths hold) with its name set: the
    name is the kwok cluster's."""
    data = yaml.safe_load(source.read_text())
    data["metadata"]["name"] = name
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f".{name}.kfdef.yaml"
    target.write_text(yaml.safe_dump(data, sort_keys=False))
    return target


def fresh_cluster(spec: Path) -> Path:
    """Delete and recreate the spec's kwok cluster; its kubeconfig."""
    kfdef = load_spec(spec)
    assert kfdef.metadata.name.startswith(PREFIX), kfdef.metadata.name
    platform = KwokPlatform()
    platform.delete_cluster(kfdef)
    return platform.ensure_cluster(kfdef, lambda line: None).kubeconfig


def delete_cluster(spec: Path) -> None:
    KwokPlatform().delete_cluster(load_spec(spec))


def kubectl(kubeconfig: Path, *args: str) -> list[str]:
    return [find_tool("kubectl"), "--kubeconfig", str(kubeconfig), *args]


@dataclass
class LoopResult:
    seconds: float
    requests: int
    peak_mb: float
    passes: int


def kubectl_loop(kubeconfig: Path, manifests: Path) -> LoopResult:
    """`kubectl apply --server-side` retried until CRDs are known (as kfctl did), then wait for
    every Deployment, StatefulSet and DaemonSet."""
    apply = kubectl(kubeconfig, "apply", "--server-side", "--field-manager=bench", "-v=6", "-f", str(manifests))
    start = time.perf_counter()
    runs = []
    while True:
        runs.append(measure(apply))
        if runs[-1].returncode == 0:
            break
        if len(runs) == 10:
            runs[-1].check("kubectl apply (10 passes)")
    runs.append(measure(kubectl(kubeconfig, "wait", "--for=condition=Available", "deployment", "--all", "-A",
                                "--timeout=600s", "-v=6")))
    listed = measure(kubectl(kubeconfig, "get", "statefulsets,daemonsets", "-A", "-v=6", "-o",
                             "jsonpath={range .items[*]}{.kind} {.metadata.namespace} {.metadata.name}{\"\\n\"}{end}"))
    runs.append(listed)
    for line in listed.stdout.splitlines():
        if line.strip():
            kind, ns, name = line.split()
            runs.append(measure(kubectl(kubeconfig, "rollout", "status", f"{kind.lower()}/{name}", "-n", ns,
                                        "--timeout=600s", "-v=6")))
    passes = next(i for i, r in enumerate(runs) if r.returncode == 0) + 1
    return LoopResult(time.perf_counter() - start, sum(r.kubectl_requests for r in runs),
                      max(r.peak_mb for r in runs), passes)


def kubectl_reapply(kubeconfig: Path, manifests: Path) -> Run:
    return measure(kubectl(kubeconfig, "apply", "--server-side", "--field-manager=bench", "-v=6",
                           "-f", str(manifests))).check("kubectl re-apply")


def helm_chart(manifests: Path, chart: Path) -> Path:
    """A chart of the rendered files: CRDs in crds/ (helm installs them first), everything else
    included verbatim through .Files (so `{{` in the objects is not read as a template)."""
    (chart / "crds").mkdir(parents=True)
    (chart / "files").mkdir()
    (chart / "templates").mkdir()
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: bench-platform\nversion: 0.1.0\n")
    for path in sorted(manifests.glob("*.yaml")):
        docs = [d for d in yaml.load_all(path.read_text(), Loader=yaml.CSafeLoader) if d]
        crds = [d for d in docs if d["kind"] == "CustomResourceDefinition"]
        rest = [d for d in docs if d["kind"] != "CustomResourceDefinition"]
        if crds:
            (chart / "crds" / path.name).write_text(yaml.dump_all(crds, Dumper=yaml.CSafeDumper))
        if rest:
            (chart / "files" / path.name).write_text(yaml.dump_all(rest, Dumper=yaml.CSafeDumper))
    (chart / "templates" / "all.yaml").write_text(
        '{{- range $path, $_ := .Files.Glob "files/*.yaml" }}\n---\n{{ $.Files.Get $path }}\n{{- end }}\n')
    return chart


def helm_install(kubeconfig: Path, chart: Path) -> Run:
    return measure([find_tool("helm"), "install", "bench", str(chart), "--kubeconfig", str(kubeconfig),
                    "--namespace", "kfdeploy-bench-helm", "--create-namespace", "--wait",
                    "--timeout", "10m"]).check("helm install --wait")


def rendered_objects(manifests: Path) -> list[dict[str, Any]]:
    """The objects of a `kfdeploy build` directory."""
    return [d for p in sorted(manifests.glob("*.yaml"))
            for d in yaml.load_all(p.read_text(), Loader=yaml.CSafeLoader) if d]


def load() -> str:
    """The load average (1, 5, 15 minutes)."""
    return "{:.2f} {:.2f} {:.2f}".format(*os.getloadavg())


def machine() -> dict[str, str]:
    """What the numbers were measured on."""
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), "unknown")
    mem = next(line.split(":", 1)[1].strip() for line in Path("/proc/meminfo").read_text().splitlines()
               if line.startswith("MemTotal"))
    return {"cpu": f"{os.cpu_count()} x {cpu}", "memory": mem, "python": sys.version.split()[0]}
