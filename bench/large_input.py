"""Render of a large kustomize input (bench/kustomize_tree.py: ~700 objects, ~12 MB built), and
how `kfdeploy build` grows with the object count of one kustomization (5,000 to 50,000).

Side by side in one run: `kubectl kustomize` alone; the same plus parsing its output into Python
objects, with PyYAML's C loader and with its pure-Python loader; and, where kfdeploy has
kustomize sources, `kfdeploy build` of the tree as one application. Time and peak RSS of each.

Growth (``--growth 5000,20000,50000``): one kustomization of N objects (a Namespace and a mix of
ConfigMaps, ServiceAccounts, Services, Deployments, Roles, RoleBindings). kustomize's own build
of one kustomization grows faster than linearly (timed alone at ``--kustomize-sizes``), so for
the growth figure `kubectl` is a stub that prints the documents kustomize would build: the
ratios are kfdeploy's own (read, validate, customize, process, sort, adjust, write).

    python bench/large_input.py [--skip-pure] [--growth 5000,20000,50000] [--kustomize-sizes 1000,2000]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

import harness
import kustomize_tree
import synth

from kfdeploy.tools import find_tool, tool_env

# Build with kubectl kustomize and parse the output: what a YAML source costs in Python.
_PARSE = """
import json, subprocess, sys, time, yaml
t0 = time.perf_counter()
text = subprocess.run([sys.argv[1], "kustomize", sys.argv[2]], capture_output=True, text=True, check=True).stdout
built = time.perf_counter() - t0
docs = [d for d in yaml.load_all(text, Loader=getattr(yaml, sys.argv[3])) if d]
print(json.dumps({"objects": len(docs), "megabytes": len(text) / 1e6, "build": built,
                  "parse": time.perf_counter() - t0 - built,
                  "self_mb": int(next(l.split()[1] for l in open("/proc/self/status")
                                      if l.startswith("VmHWM:"))) / 1024}))
"""


def kfdeploy_has_kustomize() -> bool:
    from kfdeploy.spec.model import Application
    return "kustomize" in Application.model_fields


def measure(work: Path, pure: bool = True) -> dict[str, Any]:
    spec = kustomize_tree.generate(work / "tree")
    example = str(work / "tree" / "example")
    kubectl = find_tool("kubectl")
    out: dict[str, Any] = {}
    build = harness.measure([kubectl, "kustomize", example]).check("kubectl kustomize")
    out["kustomize"] = {"seconds": build.seconds, "peak_mb": build.peak_mb}
    for name, loader in [("c_loader", "CSafeLoader")] + ([("pure_loader", "SafeLoader")] if pure else []):
        run = harness.measure([sys.executable, "-c", _PARSE, kubectl, example, loader]).check(
            f"kubectl kustomize + {loader}")
        data = json.loads(run.stdout)
        out[name] = {"seconds": run.seconds, "parse": data["parse"], "self_mb": data["self_mb"],
                     "peak_mb": run.peak_mb}
        out["objects"], out["megabytes"] = data["objects"], data["megabytes"]
    if kfdeploy_has_kustomize():
        run = harness.kfdeploy_build(spec, work / "build")
        out["kfdeploy"] = {"seconds": run.seconds, "self_mb": run.self_mb, "peak_mb": run.peak_mb}
    return out


def report(r: dict[str, Any]) -> str:
    base = r["kustomize"]["seconds"]
    lines = [f"large kustomize input: {r['objects']} objects, {r['megabytes']:.1f} MB built",
             f"  {'':<42}{'seconds':>9}{'vs kustomize':>14}{'own MB':>8}{'peak MB':>9}",
             f"  {'kubectl kustomize':<42}{base:>9.2f}{1:>13.2f}x{'':>8}{r['kustomize']['peak_mb']:>9.0f}"]
    rows = [("c_loader", "kubectl kustomize + parse (C loader)"),
            ("pure_loader", "kubectl kustomize + parse (pure Python)"), ("kfdeploy", "kfdeploy build")]
    for key, label in rows:
        if key in r:
            x = r[key]
            lines.append(f"  {label:<42}{x['seconds']:>9.2f}{x['seconds'] / base:>13.2f}x"
                         f"{x['self_mb']:>8.0f}{x['peak_mb']:>9.0f}")
    if "kfdeploy" not in r:
        lines.append("  (kfdeploy build: this kfdeploy has no kustomize sources)")
    return "\n".join(lines)


MIX = ("ConfigMap", "ServiceAccount", "Service", "Deployment", "Role", "RoleBinding")


def flat_kustomization(folder: Path, objects: int, namespace: str = "many") -> list[dict[str, Any]]:
    """One kustomization of ``objects`` objects under ``folder`` (a kfdef.yaml beside it, the
    folder as one kustomize application); returns the documents kustomize builds from it."""
    built: list[dict[str, Any]] = [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}}]
    built += [synth.namespaced(MIX[i % len(MIX)], namespace, namespace, i // len(MIX))
              for i in range(objects - 1)]
    sources = [{**d, "metadata": {k: v for k, v in d["metadata"].items() if k != "namespace"}} for d in built]
    kustomize_tree.dump(folder / "objects.yaml", sources)
    kustomize_tree.dump(folder / "kustomization.yaml", [{
        "apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization",
        "namespace": namespace, "resources": ["objects.yaml"]}])
    kustomize_tree.dump(folder / "kfdef.yaml", [{
        "apiVersion": "kfdef.apps.kubeflow.org/v1", "kind": "KfDef",
        "metadata": {"name": "kfdeploy-bench-growth", "namespace": "kubeflow"},
        "spec": {"platform": {"kind": "kwok"}, "applications": [{"name": "many", "kustomize": {"path": "."}}]}}])
    return built


def replay_kubectl(folder: Path, built: list[dict[str, Any]]) -> dict[str, str]:
    """An environment whose kubectl prints ``built`` (what `kubectl kustomize` would)."""
    kustomize_tree.dump(folder / "built.yaml", built)
    stub = folder / "kubectl"
    stub.write_text(f"#!/bin/sh\nexec cat '{folder / 'built.yaml'}'\n")
    stub.chmod(0o755)
    return {**tool_env(), "KFDEPLOY_KUBECTL_BINARY": str(stub)}


def kustomize_alone(work: Path, sizes: list[int]) -> list[dict[str, Any]]:
    out = []
    for n in sizes:
        folder = work / f"kustomize-{n}"
        flat_kustomization(folder, n)
        run = harness.measure([find_tool("kubectl"), "kustomize", str(folder)]).check("kubectl kustomize")
        out.append({"objects": n, "seconds": run.seconds, "cpu": run.cpu})
    return out


def growth(work: Path, sizes: list[int]) -> list[dict[str, Any]]:
    """`kfdeploy build` of one kustomization of each size, kustomize replayed."""
    out = []
    for n in sizes:
        folder = work / f"growth-{n}"
        env = replay_kubectl(folder, flat_kustomization(folder, n))
        run = harness.kfdeploy_build(folder / "kfdef.yaml", folder / "build", env)
        out.append({"objects": n, "seconds": run.seconds, "cpu": run.cpu, "self_mb": run.self_mb})
        os.remove(folder / "built.yaml")
    return out


def growth_report(rows: list[dict[str, Any]], title: str) -> str:
    """Each size against the first: objects, CPU and wall-time ratios (linear: CPU ratio ~ objects ratio)."""
    first = rows[0]
    lines = [title, f"  {'objects':>8}{'x objects':>11}{'CPU s':>8}{'x CPU':>8}{'wall s':>8}{'x wall':>8}"
             + (f"{'own MB':>8}" if "self_mb" in first else "")]
    for r in rows:
        lines.append(f"  {r['objects']:>8}{r['objects'] / first['objects']:>10.1f}x{r['cpu']:>8.1f}"
                     f"{r['cpu'] / max(first['cpu'], 1e-9):>7.1f}x{r['seconds']:>8.1f}"
                     f"{r['seconds'] / first['seconds']:>7.1f}x" + (f"{r['self_mb']:>8.0f}" if "self_mb" in r else ""))
    return "\n".join(lines)


def sizes(text: str) -> list[int]:
    return [int(x) for x in text.split(",") if x]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-pure", action="store_true", help="skip the slow pure-Python loader")
    parser.add_argument("--skip-tree", action="store_true", help="only the growth figures")
    parser.add_argument("--growth", type=sizes, default=[], help="object counts, e.g. 5000,20000,50000")
    parser.add_argument("--kustomize-sizes", type=sizes, default=[], help="kustomize alone, e.g. 1000,2000")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="kfdeploy-bench-") as tmp:
        if not args.skip_tree:
            print(report(measure(Path(tmp), pure=not args.skip_pure)))
        if args.kustomize_sizes:
            print(growth_report(kustomize_alone(Path(tmp), args.kustomize_sizes),
                                "kubectl kustomize alone, one kustomization"))
        if args.growth:
            print(growth_report(growth(Path(tmp), args.growth),
                                "kfdeploy build of one kustomization (kustomize replayed)"))


if __name__ == "__main__":
    main()
