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
- ``rollback``: v1.11.0 applied, ``upgrade --to`` 26.03 applied, then ``rollback`` to v1.11.0:
  its plan (objects to recreate and why), the migration warning shown before the confirmation,
  Healthy again, ``history`` with the three revisions and their outcomes, revision 1's spec a
  no-op ``plan``, every PVC kept (same UID), the spec's folder untouched; an ``InferencePool`` made
  after the upgrade (a CRD only 26.03 installs) keeps its CRD and stays.
- ``gke``: ``init --platform gke`` of 26.03, ``build``: Istio's GKE overlay rendered (the CNI
  DaemonSet's bin dir is ``/home/kubernetes/bin``).
- ``vendor``: a vendor bundle of 26.03 imported into an empty cache (repos and renders) with the
  proxy stopped;
  ``--offline build`` byte-identical to the online one.
- ``export-26.03`` (bench/export_release.py, not run by default: it needs ``make tools-flux``):
  the release exported for Flux and Argo CD, reconciled by a real Flux to every Kustomization
  Ready, ``status`` and ``plan`` on that cluster, Argo CD's Applications against its real CRDs
  and static checks; ``kfdeploy apply`` of the same spec beside it.

The official loop's kustomize fetches git-style remote bases with git: here git is pointed at the
local mirrors of those repositories (``url.<mirror>.insteadOf``), which is faster than GitHub, so
the comparison favours the official loop. Its release-asset file comes from the same origin.
"""

from __future__ import annotations

import argparse
import filecmp
import hashlib
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

import export_release  # noqa: E402
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
INFERENCE_POOL = {  # the rollback part's own object of a CRD 26.03 adds (its three required fields)
    "apiVersion": "inference.networking.x-k8s.io/v1alpha2", "kind": "InferencePool",
    "metadata": {"name": "bench-pool", "namespace": "kubeflow"},
    "spec": {"selector": {"app": "bench-model"}, "targetPortNumber": 8000, "extensionRef": {"name": "bench-epp"}}}
PARTS = ("fresh-26.03", "upgrade", "rollback", "fresh-v1.11.0", "fresh-v1.10.2", "gke", "vendor")
EXPORT_PARTS = ("export-26.03",)  # bench/export_release.py: the release through Flux and Argo CD


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

    def pvc_uids(self, kubeconfig: Path) -> dict[str, str]:
        out = self.kubectl(kubeconfig, "get", "pvc", "-A", "-o", "jsonpath={range .items[*]}"
                           "{.metadata.namespace}/{.metadata.name}={.metadata.uid} {end}")
        return dict(item.split("=", 1) for item in out.split())

    def credential_digest(self, kubeconfig: Path, spec: Path) -> str:
        """A digest of the generated credentials kfdeploy stores for the spec (never their values)."""
        name = yaml.safe_load(spec.read_text())["metadata"]["name"]
        data = self.kubectl(kubeconfig, "get", "secret", "-n", "kfdeploy-system", f"kfdeploy.{name}.credentials",
                            "--ignore-not-found", "-o", "jsonpath={.data}")
        return hashlib.sha256(data.encode()).hexdigest() if data else "(none stored)"

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

    def rollback(self) -> None:
        spec = self.init("v1.11.0", "kwok", "rollback")
        kubeconfig = self.cluster(spec)
        on = ("-f", str(spec), "--kubeconfig", str(kubeconfig))
        old_s, _, _ = self.apply(spec, kubeconfig)
        self.healthy(spec, kubeconfig)
        pvcs = self.pvc_uids(kubeconfig)
        kfdeploy("upgrade", "-f", str(spec), "--to", MANIFESTS.format("26.03"), "--yes").check(
            f"kfdeploy upgrade -f {spec} --to {MANIFESTS.format('26.03')}")
        up_s, _, _ = self.apply(spec, kubeconfig)
        self.healthy(spec, kubeconfig)
        # data written since the upgrade: an object of a CRD that only 26.03 installs
        pool = spec.parent / "inference-pool.json"
        pool.write_text(json.dumps(INFERENCE_POOL))
        self.kubectl(kubeconfig, "apply", "-f", str(pool))
        dry = kfdeploy("rollback", *on, "--dry-run", "-o", "json")
        if dry.returncode not in (0, 2):  # 2: the plan has changes
            dry.check(f"kfdeploy rollback -f {spec} --dry-run")
        planned = json.loads(dry.stdout)["applications"]
        recreate = [f"{a['name']}: {c['object']} ({c.get('reason', '')})"
                    for a in planned for c in a["changes"] if c["action"] == "recreate"]
        counts = {action: sum(1 for a in planned for c in a["changes"] if c["action"] == action)
                  for action in ("create", "update", "recreate", "delete", "keep")}
        kinds: dict[str, dict[str, int]] = {}  # action -> kind -> objects
        for c in (c for a in planned for c in a["changes"] if c["action"] in ("create", "delete", "keep")):
            kind = c["object"].split("/")[0]
            kinds.setdefault(c["action"], {})[kind] = kinds.get(c["action"], {}).get(kind, 0) + 1
        keeps = [f"{c['object']} ({c.get('reason', '')})"
                 for a in planned for c in a["changes"] if c["action"] == "keep"]
        crds = [f"{c['action']} {c['object']}" for a in planned for c in a["changes"]
                if c["object"].startswith("CustomResourceDefinition") and c["action"] != "update"]
        credentials = self.credential_digest(kubeconfig, spec)
        # stdin is no terminal: the plan and the warning are shown, then the confirmation is refused
        gate = ["--recreate"] if recreate else []
        asked = kfdeploy("rollback", *on, *gate)
        shown = asked.stderr.split("needs confirmation")[0]
        warning = next((line for line in shown.splitlines() if line.startswith("WARNING")), "")
        before = sorted(p.name for p in spec.parent.iterdir())
        run = kfdeploy("rollback", *on, "--yes", *gate, "-o", "json")
        run.check(f"kfdeploy rollback -f {spec} --yes")
        touched = sorted(p.name for p in spec.parent.iterdir()) != before
        live = json.loads(kfdeploy("status", *on, "-o", "json").stdout)["revision"]
        back = self.work / "rollback-revision-1" / "kfdef.yaml"
        back.parent.mkdir(parents=True, exist_ok=True)
        back.write_text(kfdeploy("history", *on, "--revision", "1").check(
            f"kfdeploy history -f {spec} --revision 1").stdout)
        health = self.healthy(back, kubeconfig)
        noop = kfdeploy("plan", "-f", str(back), "--kubeconfig", str(kubeconfig), "-o", "json")
        not_unchanged = ([a["name"] for a in json.loads(noop.stdout)["applications"] if a["changes"]]
                         if noop.stdout.strip() else [noop.stderr[-2000:]])
        history = json.loads(kfdeploy("history", *on, "-o", "json").check(f"kfdeploy history -f {spec}").stdout)
        revisions = [(r["revision"], r["outcome"], r.get("rollbackTo")) for r in history["revisions"]]
        pool_kept = bool(self.kubectl(kubeconfig, "get", "inferencepool", "-n", "kubeflow", "--ignore-not-found",
                                      "-o", "name"))
        after = self.pvc_uids(kubeconfig)
        lost = sorted(k for k, uid in pvcs.items() if after.get(k) != uid)
        kept_credentials = self.credential_digest(kubeconfig, spec) == credentials
        asked_first = bool(warning) and "needs confirmation" in asked.stderr
        self.results["rollback"] = {
            "v1.11.0_apply_s": old_s, "apply_26.03_s": up_s, "rollback_plan_s": dry.seconds, "rollback_s": run.seconds,
            "rollback_requests": json.loads(run.stdout).get("requests"), "plan": counts, "recreate": recreate,
            "warning": warning, "warning_before_confirmation": asked_first,
            "warning_with_yes": warning in run.stderr, "applications": len(health), "history": revisions,
            "plan_v1.11.0_exit": noop.returncode, "plan_v1.11.0_not_unchanged": not_unchanged,
            "plan_kinds": kinds, "keep": keeps, "crds_created_or_deleted": crds, "inference_pool_kept": pool_kept,
            "credentials_unchanged": kept_credentials,
            "status_of_the_spec_file": live,
            "pvcs": len(pvcs), "pvcs_lost_or_replaced": lost, "spec_folder_touched": touched,
            "rollback_messages": [line for line in run.stderr.splitlines() if "✗" in line or "kept" in line][:20],
            "ok": asked_first and noop.returncode == 0 and not lost and not touched and pool_kept and kept_credentials
            and revisions == [(1, "healthy", None), (2, "healthy", None), (3, "healthy", 1)]}
        self.report("rollback")
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
    parser.add_argument("--parts", default=",".join(PARTS),
                        help=f"comma-separated, of {', '.join(PARTS + EXPORT_PARTS)}")
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
                    elif part.startswith("export-"):
                        export_release.export(bench, part.removeprefix("export-"))
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
