"""Every benchmark scenario in one run; prints the tables and the headline ratios, and writes
bench/RESULTS.md and bench/scale.png (time and memory against object count).

    python bench/run.py            # make bench: everything (3 rounds, up to 4,000 objects)
    python bench/run.py --quick    # make bench-quick: 1 round, up to 1,000 objects

Every comparison runs its peers side by side in this one run, each on a fresh kwok cluster;
absolute times move with the machine's load (recorded with the numbers), the ratios much less.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import apply
import ceiling
import evaluators
import harness
import large_input
import scale

from kfdeploy import __version__
from kfdeploy.tools import tool_versions

HERE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Profile:
    evaluators: str  # all installed when empty
    repeat: int
    rounds: int
    sizes: tuple[int, ...]
    ceiling_objects: int
    pure_loader: bool


FULL = Profile(evaluators="", repeat=3, rounds=3, sizes=(250, 1000, 4000), ceiling_objects=4000, pure_loader=True)
QUICK = Profile(evaluators="rjsonnet", repeat=1, rounds=1, sizes=(250, 1000), ceiling_objects=1000, pure_loader=False)
LEVELS = [1, 4, 8]


@dataclass(frozen=True)
class Headline:
    what: str
    value: float
    unit: str
    target: str
    met: bool | None

    def row(self) -> str:
        verdict = {True: "met", False: "NOT met", None: ""}[self.met]
        return f"| {self.what} | {self.value:.2f}{self.unit} | {self.target} | {verdict} |"


def headlines(r: dict[str, Any]) -> list[Headline]:
    out = []
    if "apply" in r:
        kf, kc, hm = r["apply"]["kfdeploy"], r["apply"]["kubectl"], r["apply"]["helm"]
        objects = r["apply"]["objects"]
        out += [Headline("default platform, fresh apply: kfdeploy / kubectl loop", kf["fresh"] / kc["fresh"], "x",
                         "<= 0.5x", kf["fresh"] / kc["fresh"] <= 0.5),
                Headline("default platform, fresh apply: kfdeploy / helm install --wait", kf["fresh"] / hm["fresh"],
                         "x", "", None),
                Headline("default platform, no-op: kfdeploy / kubectl", kf["noop"] / kc["noop"], "x", "", None),
                Headline("default platform, no-op: kfdeploy seconds", kf["noop"], " s", "<= 1 s", kf["noop"] <= 1),
                Headline("default platform, no-op: API requests per object", kf["noop_requests"] / objects, "",
                         "<= 0.1", kf["noop_requests"] / objects <= 0.1)]
    if "scale" in r:
        rows = r["scale"]
        big = rows[-1]
        out.append(Headline(f"scale {big['objects']}: fresh apply kfdeploy / kubectl loop",
                            big["kfdeploy"]["fresh"] / big["kubectl"]["fresh"], "x", "", None))
        out.append(Headline(f"scale {big['objects']}: no-op API requests per object",
                            big["kfdeploy"]["noop_requests"] / big["objects"], "", "<= 0.1",
                            big["kfdeploy"]["noop_requests"] / big["objects"] <= 0.1))
        peak = max(big["kfdeploy"]["fresh_mb"], big["kfdeploy"]["noop_mb"])
        out.append(Headline(f"scale {big['objects']}: kfdeploy peak RSS", peak, " MB", "<= 250 MB", peak <= 250))
        if len(rows) > 1:
            prev = rows[-2]
            growth = big["kfdeploy"]["fresh"] / prev["kfdeploy"]["fresh"]
            factor = big["objects"] / prev["objects"]
            out.append(Headline(f"kfdeploy time at {big['objects']} / at {prev['objects']} objects "
                                f"({factor:.1f}x the objects)", growth, "x", "<= 4.5x at 4x",
                                growth <= 4.5 * factor / 4))
    if "large_input" in r and "kfdeploy" in r["large_input"]:
        li = r["large_input"]
        out.append(Headline("large kustomize input: kfdeploy build seconds", li["kfdeploy"]["seconds"], " s",
                            "<= 2 s", li["kfdeploy"]["seconds"] <= 2))
        out.append(Headline("large kustomize input: kfdeploy build / kubectl kustomize",
                            li["kfdeploy"]["seconds"] / li["kustomize"]["seconds"], "x", "", None))
        out.append(Headline("large kustomize input: kfdeploy peak RSS", li["kfdeploy"]["self_mb"], " MB",
                            "<= 250 MB", li["kfdeploy"]["self_mb"] <= 250))
    elif "large_input" in r:
        li = r["large_input"]
        out.append(Headline("large kustomize input: kubectl kustomize + C-loader parse seconds",
                            li["c_loader"]["seconds"], " s", "<= 2 s (kfdeploy build)", None))
    if "ceiling" in r:
        best = max(c["per_second"] for c in r["ceiling"]["levels"])
        out.append(Headline("API server ceiling (best of 1/4/8 clients)", best, " applies/s", "", None))
        if "kfdeploy_per_second" in r["ceiling"]:
            frac = r["ceiling"]["kfdeploy_per_second"] / best
            out.append(Headline(f"kfdeploy apply throughput at {r['ceiling']['objects']} objects / ceiling",
                                100 * frac, " %", ">= 70 %", frac >= 0.7))
    return out


def ceiling_report(c: dict[str, Any]) -> str:
    lines = [f"API server ceiling: {c['objects']} objects, server-side apply (creates), fresh cluster per level;",
             "applies/s over the objects after the namespaces and CRDs", ceiling.report_rows(c["levels"])]
    if "kfdeploy_per_second" in c:
        lines.append(f"  kfdeploy: {c['objects']} objects applied in {c['kfdeploy_span']:.1f} s from its start "
                     f"(render, plan, CRDs and their waits included) = {c['kfdeploy_per_second']:.0f} objects/s")
    return "\n".join(lines)


def plot(rows: list[dict[str, Any]], target: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    objects = [r["objects"] for r in rows]
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    for who, style in (("kfdeploy", "o-"), ("kubectl", "s--")):
        left.plot(objects, [r[who]["fresh"] for r in rows], style, label=f"{who}: fresh apply")
        left.plot(objects, [r[who]["noop"] for r in rows], style, alpha=0.5, label=f"{who}: no-op re-apply")
        for key, label, alpha in (("fresh_mb", "fresh apply", 1.0), ("noop_mb", "no-op", 0.5)):
            points = [(r["objects"], r[who][key]) for r in rows if r[who].get(key)]
            if points:
                right.plot(*zip(*points, strict=True), style, alpha=alpha, label=f"{who}: {label}")
    for ax, title, unit in ((left, "time until healthy", "seconds"), (right, "peak RSS", "MB")):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xticks(objects, [str(o) for o in objects])
        ax.minorticks_off()
        ax.set_xlabel("objects")
        ax.set_ylabel(unit)
        ax.set_title(title)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    right.axhline(250, color="grey", linestyle=":", linewidth=1)
    fig.suptitle("kfdeploy vs the kubectl loop, synthetic applications on kwok")
    fig.tight_layout()
    fig.savefig(target, dpi=110)


def git_commit() -> str:
    done = subprocess.run(["git", "-C", str(HERE), "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    dirty = subprocess.run(["git", "-C", str(HERE), "status", "--porcelain", "--", "kfdeploy"],
                           capture_output=True, text=True).stdout.strip()
    return done.stdout.strip() + (" (with local changes)" if dirty else "")


def results_md(r: dict[str, Any], sections: list[tuple[str, str]], mode: str) -> str:
    m = harness.machine()
    versions = ", ".join(f"{k} {v}" for k, v in tool_versions().items())
    lines = [
        "# Benchmark results", "",
        f"Written by `{mode}` (bench/run.py) on {r['started']} UTC, in {r['minutes']:.0f} minutes, "
        f"kfdeploy {__version__} at {git_commit()}.", "",
        f"- machine: {m['cpu']}, {m['memory']} memory, Python {m['python']}",
        f"- load average (1, 5, 15 min) at start: {r['load_start']}; at end: {r['load_end']}"
        " (other work shared the machine: read the ratios, measured side by side, before the seconds)",
        f"- control plane and tools: {versions}",
        "- every comparison: peers in the same run, each on a fresh kwok cluster", "",
        "Reproduce: `make tools`, then `make bench` (everything) or `make bench-quick` (under 10 minutes).",
        "Each scenario also runs alone: `python bench/<scenario>.py --help`.", "",
        "## Headline", "", "| measure | value | target | |", "|---|---|---|---|",
        *[h.row() for h in headlines(r)], ""]
    if "scale" in r:
        lines += ["![time and memory against object count](scale.png)", ""]
    for title, text in sections:
        lines += [f"## {title}", "", "```", text, "```", ""]
    return "\n".join(lines)


def timed_section(name: str, fn: Callable[[], Any]) -> Any:
    start = time.monotonic()
    print(f"== {name} ...", file=sys.stderr, flush=True)
    value = fn()
    print(f"== {name}: {time.monotonic() - start:.0f} s", file=sys.stderr, flush=True)
    return value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1 round, up to 1,000 objects: under 10 minutes")
    parser.add_argument("--only", default="", help="comma-separated: evaluators,apply,scale,large_input,ceiling")
    parser.add_argument("--results", type=Path, default=HERE / "RESULTS.md")
    parser.add_argument("--rounds", type=int, help="rounds of the default-platform comparison (best is kept)")
    parser.add_argument("--repeat", type=int, help="renders per evaluator (best is kept)")
    args = parser.parse_args()
    prof = QUICK if args.quick else FULL
    if args.rounds:
        prof = dataclasses.replace(prof, rounds=args.rounds)
    if args.repeat:
        prof = dataclasses.replace(prof, repeat=args.repeat)
    wanted = set(args.only.split(",")) if args.only else {"evaluators", "apply", "scale", "large_input", "ceiling"}
    r: dict[str, Any] = {"started": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M"),
                         "load_start": harness.load()}
    start = time.monotonic()
    sections: list[tuple[str, str]] = []
    with tempfile.TemporaryDirectory(prefix="kfdeploy-bench-") as tmp:
        work = Path(tmp)
        if "evaluators" in wanted:
            r["evaluators"] = timed_section("evaluators", lambda: evaluators.measure(prof.repeat, prof.evaluators))
            sections.append(("1. Render of the default platform per evaluator", evaluators.report(r["evaluators"])))
        if "apply" in wanted:
            r["apply"] = timed_section("apply", lambda: apply.measure(prof.rounds, work / "apply"))
            sections.append(("2-3. Default platform: fresh apply and no-op re-apply", apply.report(r["apply"])))
        if "scale" in wanted:
            r["scale"] = timed_section("scale", lambda: scale.measure(list(prof.sizes), work / "scale"))
            sections.append(("4. Scale: synthetic applications", scale.report(r["scale"])))
        if "large_input" in wanted:
            r["large_input"] = timed_section("large_input",
                                             lambda: large_input.measure(work / "large", prof.pure_loader))
            sections.append(("5. Large kustomize input", large_input.report(r["large_input"])))
        if "ceiling" in wanted:
            levels = timed_section("ceiling", lambda: ceiling.measure(prof.ceiling_objects, LEVELS, work / "ceiling"))
            r["ceiling"] = {"objects": prof.ceiling_objects, "levels": levels}
            kf = next((x for x in r.get("scale", []) if x["objects"] >= prof.ceiling_objects), None)
            if kf is not None:
                r["ceiling"]["kfdeploy_span"] = kf["kfdeploy"]["apply_span"]
                r["ceiling"]["kfdeploy_per_second"] = kf["objects"] / kf["kfdeploy"]["apply_span"]
            sections.append(("6. The API server's ceiling", ceiling_report(r["ceiling"])))
    r["minutes"] = (time.monotonic() - start) / 60
    r["load_end"] = harness.load()
    for title, text in sections:
        print(f"\n{title}\n{text}")
    print("\nheadline (kfdeploy against its peers, side by side in this run)")
    for h in headlines(r):
        verdict = {True: "met", False: "NOT met", None: ""}[h.met]
        print(f"  {h.what:<72}{h.value:>9.2f}{h.unit:<11} {h.target:<24}{verdict}")
    if "scale" in r:
        plot(r["scale"], args.results.parent / "scale.png")
    command = "python bench/run.py " + " ".join(sys.argv[1:]) if sys.argv[1:] else "make bench"
    args.results.with_suffix(".json").write_text(json.dumps(r, indent=1, default=str))
    args.results.write_text(results_md(r, sections, "make bench-quick" if sys.argv[1:] == ["--quick"] else command))
    print(f"\nwrote {args.results}" + (f" and {args.results.parent / 'scale.png'}" if "scale" in r else ""))


if __name__ == "__main__":
    main()
