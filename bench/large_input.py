"""Render of a large kustomize input (bench/kustomize_tree.py: ~700 objects, ~12 MB built).

Side by side in one run: `kubectl kustomize` alone; the same plus parsing its output into Python
objects, with PyYAML's C loader and with its pure-Python loader; and, where kfdeploy has
kustomize sources, `kfdeploy build` of the tree as one application. Time and peak RSS of each.

    python bench/large_input.py [--skip-pure]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

import harness
import kustomize_tree

from kfdeploy.tools import find_tool

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-pure", action="store_true", help="skip the slow pure-Python loader")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="kfdeploy-bench-") as tmp:
        print(report(measure(Path(tmp), pure=not args.skip_pure)))


if __name__ == "__main__":
    main()
