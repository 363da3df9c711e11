"""The official Kubeflow releases, as published, through kfdeploy on kwok.

The release archives are never part of the project: pass a folder holding them
(``--archives DIR`` or ``KFDEPLOY_RELEASES_ARCHIVES``), named as in ``ARCHIVES`` below; bench/README.md
shows how to make them. They are served at their github.com URLs by the test HTTPS origin, reached
through its CONNECT proxy (``HTTPS_PROXY``, the test CA in ``REQUESTS_CA_BUNDLE``/``SSL_CERT_FILE``),
so kfdeploy fetches them on its real path and every download is counted. The repo and render
caches are the run's own (``KFDEPLOY_REPO_CACHE``, ``KFDEPLOY_RENDER_CACHE``): the first render is cold.

Parts, in order of importance (``--parts`` picks some):

- ``fresh-26.03``, ``fresh-v1.11.0``, ``fresh-v1.10.2``: ``init --manifests URL --platform kwok``,
  ``apply`` on a fresh cluster until Healthy with ``Profile/kubeflow-user-example-com``; a no-op
  re-apply (downloads counted: must be zero), timed beside the official loop's no-op
  (``kustomize build example | kubectl apply --server-side -f -`` with the release's pinned
  kustomize, on the same, already-applied cluster).
- ``upgrade``: v1.11.0 with ``replicas: ml-pipeline 2`` applied, ``upgrade --to`` 26.03, apply:
  Healthy, the customization kept, every PVC kept.
- ``gke``: ``init --platform gke`` of 26.03, ``build``: Istio's GKE overlay rendered (the CNI
  DaemonSet's bin dir is ``/home/kubernetes/bin``).
- ``vendor``: a vendor bundle of 26.03 imported into an empty cache (repos and renders) with the
  proxy stopped;
  ``--offline build`` byte-identical to the online one.

The official loop's kustomize fetches git-style remote bases with git: here git is pointed at the
local mirrors of those repositories (``url.<mirror>.insteadOf``), which is faster than GitHub, so
the comparison favours the official loop. Its release-asset file comes from the same origin.
"""

from __future__ import annotations

import argparse
import filecmp
import json
import os
import shutil
import signal
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from fakes.https_proxy import ConnectProxy, LocalCA, Origin  # noqa: E402
from harness import delete_cluster, fresh_cluster, kfdeploy, measure, named_spec  # noqa: E402

from kfdeploy.tools import find_tool, tool_env  # noqa: E402

RELEASES = ("26.03", "v1.11.0", "v1.10.2")
MANIFESTS = "https://github.com/kubeflow/manifests/archive/refs/tags/{}.tar.gz"
# file in the archives folder -> the URL it is served at
ARCHIVES = {
    **{f"manifests-{tag}.tar.gz": MANIFESTS.format(tag) for tag in RELEASES},
    "argo-workflows-v3.7.3.tar.gz": "https://github.com/argoproj/argo-workflows/archive/v3.7.3.tar.gz",
    "lws-v0.7.0.tar.gz": "https://github.com/kubernetes-sigs/lws/archive/v0.7.0.tar.gz",
    "jobset-v0.10.1-manifests.yaml":
        "https://github.com/kubernetes-sigs/jobset/releases/download/v0.10.1/manifests.yaml",
    "jobset-v0.6.0-manifests.yaml":
        "https://github.com/kubernetes-sigs/jobset/releases/download/v0.6.0/manifests.yaml",
}
KUSTOMIZE = {"v1.10.2": "v5.4.3", "v1.11.0": "v5.7.1", "26.03": "v5.8.1"}  # as tools/kustomize.env
PROFILE = "kubeflow-user-example-com"
PARTS = ("fresh-26.03", "upgrade", "fresh-v1.11.0", "fresh-v1.10.2", "gke", "vendor")


class Bench:
    def __init__(self, archives: Path, work: Path, git_mirrors: Path | None) -> None:
        self.work = work
        self.git_mirrors = git_mirrors
        (work / "ca").mkdir(parents=True, exist_ok=True)
        self.ca = LocalCA(work / "ca")
        self.origin = Origin(self.ca)
        for name, url in ARCHIVES.items():
            if (archives / name).is_file():
                self.origin.add(url, (archives / name).read_bytes())
        self.proxy = ConnectProxy(self.origin.port)
        os.environ.update({"HTTPS_PROXY": self.proxy.url, "NO_PROXY": "127.0.0.1,localhost",
                           "REQUESTS_CA_BUNDLE": str(self.ca.pem), "SSL_CERT_FILE": str(self.ca.pem),
                           "KFDEPLOY_REPO_CACHE": str(work / "cache"),
                           "KFDEPLOY_RENDER_CACHE": str(work / "render-cache")})
        for var in ("http_proxy", "HTTP_PROXY", "https_proxy", "no_proxy", "ALL_PROXY", "all_proxy",
                    "KFDEPLOY_OFFLINE", "KFDEPLOY_URL_REWRITE"):
            os.environ.pop(var, None)
        self.results: dict[str, Any] = {}
        self.clusters: list[Path] = []

    # -- steps ------------------------------------------------------------------------------

    def init(self, tag: str, platform: str, name: str, *extra: str) -> Path:
        folder = self.work / name
        folder.mkdir(parents=True, exist_ok=True)
        spec = folder / "kfdef.yaml"
        kfdeploy("init", "--manifests", MANIFESTS.format(tag), "--platform", platform, *extra,
                 "-o", str(spec)).check(f"kfdeploy init --manifests {MANIFESTS.format(tag)} --platform {platform}")
        # the process id keeps runs side by side on separate clusters
        return named_spec(spec, f"kfdeploy-bench-releases-{name}-{os.getpid()}", folder)

    def cluster(self, spec: Path) -> Path:
        """A fresh kwok cluster whose API server does not inherit the proxy (its webhook calls
        would go to the origin)."""
        saved = {v: os.environ.pop(v) for v in ("HTTPS_PROXY", "NO_PROXY") if v in os.environ}
        try:
            kubeconfig = fresh_cluster(spec)
        finally:
            os.environ.update(saved)
        self.clusters.append(spec)
        return kubeconfig

    def downloads(self) -> int:
        return sum(r.startswith("github.com/") for r in self.origin.requests)

    def apply(self, spec: Path, kubeconfig: Path) -> tuple[float, dict[str, Any], int]:
        """Seconds, apply's JSON, downloads during it."""
        before = self.downloads()
        run = kfdeploy("apply", "-f", str(spec), "--yes", "-o", "json", "--kubeconfig", str(kubeconfig))
        run.check(f"kfdeploy apply -f {spec}")
        return run.seconds, json.loads(run.stdout), self.downloads() - before

    def healthy(self, spec: Path, kubeconfig: Path) -> dict[str, str]:
        run = kfdeploy("status", "-f", str(spec), "-o", "json", "--kubeconfig", str(kubeconfig))
        data = json.loads(run.stdout)
        health = {c["name"]: c["health"] for c in data["components"]}
        bad = [c for c in data["components"] if c["health"] != "Healthy"]
        if bad or not health:
            raise SystemExit(f"kfdeploy status -f {spec}: not Healthy: {json.dumps(bad)[:3000]}")
        return health

    def kubectl(self, kubeconfig: Path, *args: str) -> str:
        return subprocess.run([find_tool("kubectl"), "--kubeconfig", str(kubeconfig), *args], check=True,
                              capture_output=True, text=True, env=tool_env()).stdout

    def profile_owner(self, kubeconfig: Path) -> str:
        return self.kubectl(kubeconfig, "get", "profile", PROFILE, "-o", "jsonpath={.spec.owner.name}")

    def pvcs(self, kubeconfig: Path) -> set[str]:
        out = self.kubectl(kubeconfig, "get", "pvc", "-A", "-o",
                           "jsonpath={range .items[*]}{.metadata.namespace}/{.metadata.name} {end}")
        return set(out.split())

    def official_noop(self, tag: str, kubeconfig: Path) -> float:
        """`kustomize build example | kubectl apply --server-side -f -` twice on an applied cluster
        (the first takes its share of the fields); the second's seconds."""
        src = self.work / f"official-{tag}"
        if not src.exists():
            with tarfile.open(self.work.parent / "archives-link" / f"manifests-{tag}.tar.gz") as tar:
                tar.extractall(src, filter="data")
        release = next(src.iterdir())
        env = tool_env()
        if self.git_mirrors is not None:
            env.update({"GIT_CONFIG_COUNT": "2", "GIT_CONFIG_KEY_0": f"url.file://{self.git_mirrors}/.insteadOf",
                        "GIT_CONFIG_VALUE_0": "https://github.com/", "GIT_CONFIG_KEY_1": "safe.directory",
                        "GIT_CONFIG_VALUE_1": "*"})
        kustomize = find_tool(f"kustomize-{KUSTOMIZE[tag]}")
        # kwok runs no webhook servers: as kfdeploy's kwok platform does, webhooks fail open
        loop = (f"{kustomize} build example | sed 's/failurePolicy: Fail/failurePolicy: Ignore/' | "
                f"{find_tool('kubectl')} --kubeconfig {kubeconfig} apply --server-side --force-conflicts -f -")
        cmd = ["bash", "-o", "pipefail", "-c", f"cd {release} && {loop} >/dev/null"]
        measure(cmd, env).check(f"official loop ({tag}, first pass)")
        return measure(cmd, env).check(f"official loop ({tag}, no-op)").seconds

    # -- parts ------------------------------------------------------------------------------

    def fresh(self, tag: str) -> None:
        name = tag.replace(".", "")
        spec = self.init(tag, "kwok", name)
        kubeconfig = self.cluster(spec)
        fresh_s, fresh_out, fresh_dl = self.apply(spec, kubeconfig)
        health = self.healthy(spec, kubeconfig)
        owner = self.profile_owner(kubeconfig)
        print(f"  fresh apply {fresh_s:.1f} s, {len(health)} applications Healthy, Profile owner {owner!r}",
              flush=True)
        noop_s, noop_out, noop_dl = self.apply(spec, kubeconfig)
        changed = [a["name"] for a in noop_out["applications"] if a.get("outcome") != "unchanged"]
        print(f"  no-op {noop_s:.1f} s, {noop_dl} downloads, not unchanged: {changed}", flush=True)
        try:
            official: float | str = self.official_noop(tag, kubeconfig)
        except SystemExit as failed:
            official = str(failed)[-2000:]
        print(f"  official loop no-op {official}", flush=True)
        # after the official loop (which forces conflicts) has co-owned every field: recorded, not required
        after = kfdeploy("apply", "-f", str(spec), "--yes", "-o", "json", "--kubeconfig", str(kubeconfig))
        self.results[f"fresh-{tag}"] = {
            "applications": len(health), "profile_owner": owner,
            "fresh_s": fresh_s, "fresh_requests": fresh_out["requests"], "fresh_downloads": fresh_dl,
            "noop_s": noop_s, "noop_requests": noop_out["requests"], "noop_downloads": noop_dl,
            "noop_not_unchanged": changed, "official_noop_s": official,
            "ratio": noop_s / official if isinstance(official, float) else None,
            "apply_after_official_s": after.seconds, "apply_after_official_exit": after.returncode,
            "apply_after_official_errors": [line for line in after.stderr.splitlines() if "✗" in line][:5]}
        self.report(f"fresh-{tag}")
        delete_cluster(spec)

    def upgrade(self) -> None:
        spec = self.init("v1.11.0", "kwok", "upgrade")
        data = yaml.safe_load(spec.read_text())
        pipelines = next(a for a in data["spec"]["applications"] if a["name"] == "pipelines")
        pipelines["replicas"] = [{"name": "ml-pipeline", "count": 2}]
        spec.write_text(yaml.safe_dump(data, sort_keys=False))
        kubeconfig = self.cluster(spec)
        old_s, _, _ = self.apply(spec, kubeconfig)
        self.healthy(spec, kubeconfig)
        pvcs_before = self.pvcs(kubeconfig)
        run = kfdeploy("upgrade", "-f", str(spec), "--to", MANIFESTS.format("26.03"), "--yes")
        run.check(f"kfdeploy upgrade -f {spec} --to {MANIFESTS.format('26.03')}")
        upgraded = yaml.safe_load(spec.read_text())
        kept = next(a for a in upgraded["spec"]["applications"] if a["name"] == "pipelines").get("replicas")
        up_s, up_out, _ = self.apply(spec, kubeconfig)
        health = self.healthy(spec, kubeconfig)
        pvcs_after = self.pvcs(kubeconfig)
        replicas = self.kubectl(kubeconfig, "get", "deployment", "ml-pipeline", "-n", "kubeflow",
                                "-o", "jsonpath={.spec.replicas}")
        self.results["upgrade"] = {
            "v1.11.0_apply_s": old_s, "upgrade_s": run.seconds, "apply_26.03_s": up_s,
            "apply_requests": up_out["requests"], "applications": len(health),
            "replicas_in_spec": kept, "ml_pipeline_replicas": replicas,
            "pvcs_before": sorted(pvcs_before), "pvcs_lost": sorted(pvcs_before - pvcs_after),
            "ok": kept == [{"name": "ml-pipeline", "count": 2}] and replicas == "2" and pvcs_before <= pvcs_after}
        self.report("upgrade")
        delete_cluster(spec)

    def gke(self) -> None:
        spec = self.init("26.03", "gke", "gke", "--project", "bench-project", "--location", "us-central1-a")
        out = spec.parent / "build"
        kfdeploy("build", "-f", str(spec), "-d", str(out)).check(f"kfdeploy build -f {spec}")
        cni = []
        for f in out.rglob("*.yaml"):
            for obj in yaml.safe_load_all(f.read_text()):
                if isinstance(obj, dict) and obj.get("kind") == "DaemonSet" and "cni" in obj["metadata"]["name"]:
                    cni.append((obj["metadata"]["name"], [v.get("hostPath", {}).get("path")
                                                          for v in obj["spec"]["template"]["spec"].get("volumes", [])]))
        paths = [p for _, vols in cni for p in vols]
        self.results["gke"] = {"cni_daemonsets": cni, "ok": "/home/kubernetes/bin" in paths
                               and "/opt/cni/bin" not in paths}
        self.report("gke")

    def vendor(self) -> None:
        spec = self.init("26.03", "kwok", "vendor")
        online, offline = spec.parent / "online", spec.parent / "offline"
        kfdeploy("build", "-f", str(spec), "-d", str(online)).check("kfdeploy build (online)")
        bundle = spec.parent / "bundle.tar.gz"
        kfdeploy("vendor", "-f", str(spec), "-o", str(bundle)).check("kfdeploy vendor")
        self.proxy.stop()
        os.environ["KFDEPLOY_REPO_CACHE"] = str(self.work / "empty-cache")
        os.environ["KFDEPLOY_RENDER_CACHE"] = str(self.work / "empty-render-cache")  # a real render
        before = self.downloads()
        kfdeploy("vendor", "-f", str(spec), "--import", str(bundle)).check("kfdeploy vendor --import")
        kfdeploy("--offline", "build", "-f", str(spec), "-d", str(offline)).check("kfdeploy --offline build")
        diff = _differences(online, offline)
        self.results["vendor"] = {"bundle_mb": bundle.stat().st_size / 2**20,
                                  "files": sum(1 for _ in online.rglob("*")), "differences": diff,
                                  "downloads": self.downloads() - before,
                                  "ok": not diff}
        self.report("vendor")

    def report(self, part: str) -> None:
        print(f"{part}: {json.dumps(self.results[part], default=str)}", flush=True)


def _differences(a: Path, b: Path) -> list[str]:
    cmp = filecmp.dircmp(a, b)
    out: list[str] = []

    def walk(c: filecmp.dircmp[str], prefix: str) -> None:
        out.extend(prefix + n for n in c.left_only + c.right_only)
        _, mismatch, errors = filecmp.cmpfiles(c.left, c.right, c.common_files, shallow=False)
        out.extend(prefix + n for n in mismatch + errors)
        for name, sub in c.subdirs.items():
            walk(sub, f"{prefix}{name}/")
    walk(cmp, "")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--archives", default=os.environ.get("KFDEPLOY_RELEASES_ARCHIVES"),
                        help="folder of the release archives (or KFDEPLOY_RELEASES_ARCHIVES)")
    parser.add_argument("--git-mirrors", default=os.environ.get("KFDEPLOY_RELEASES_GIT"),
                        help="folder ORG/REPO[.git] of git repositories for the official loop's kustomize")
    parser.add_argument("--parts", default=",".join(PARTS), help=f"comma-separated, of {', '.join(PARTS)}")
    parser.add_argument("-o", "--output", help="write the results as JSON here")
    args = parser.parse_args()
    if not args.archives:
        parser.error("--archives DIR (or KFDEPLOY_RELEASES_ARCHIVES) is required; see bench/README.md")
    def interrupted(*_: object) -> None:
        raise KeyboardInterrupt  # `kill PID` deletes the clusters too (below)
    signal.signal(signal.SIGTERM, interrupted)
    with tempfile.TemporaryDirectory(prefix="kfdeploy-bench-releases-") as tmp:
        work = Path(tmp) / "work"
        (Path(tmp) / "archives-link").symlink_to(Path(args.archives).resolve())
        bench = Bench(Path(args.archives), work, Path(args.git_mirrors).resolve() if args.git_mirrors else None)
        print("JobSet's release asset manifests.yaml is served as given in the archives folder "
              "(bench/README.md makes it with `kustomize build config/default` at the tag).", flush=True)
        start = time.perf_counter()
        try:
            for part in args.parts.split(","):
                t0 = time.perf_counter()
                try:
                    if part.startswith("fresh-"):
                        bench.fresh(part.removeprefix("fresh-"))
                    else:
                        getattr(bench, part)()
                except SystemExit as failed:
                    bench.results[part] = {"failed": str(failed)}
                    print(f"{part}: FAILED {failed}", flush=True)
                bench.results.setdefault(part, {})["part_s"] = time.perf_counter() - t0
        finally:
            for spec in bench.clusters:
                delete_cluster(spec)
            bench.origin.stop()
            shutil.rmtree(work / "cache", ignore_errors=True)
        bench.results["total_s"] = time.perf_counter() - start
        if args.output:
            Path(args.output).write_text(json.dumps(bench.results, indent=2, default=str) + "\n")
        print(json.dumps(bench.results, indent=2, default=str))


if __name__ == "__main__":
    main()
