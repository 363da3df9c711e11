"""Where kfdeploy spends its time: py-spy samples of a fresh apply and a no-op re-apply of the
synthetic applications (bench/synth.py), summarised as the functions that use the most CPU
(self and inclusive, over all threads), beside the wall time and the API requests.

    python bench/profile.py [--objects 1000] [--out bench/PROFILE.md] [--keep-raw DIR]

Needs py-spy (a dev dependency). Samples only the thread that holds the GIL, so the tables show
what the Python side costs (one core at most); the rest of the wall time is the API server, the
controllers and the waits.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
import tempfile
from collections import Counter
from pathlib import Path

import harness
import synth

FRAME = re.compile(r"^(?P<fn>.*?) \((?P<file>[^()]*?)(?::\d+)?\)$")
SITE = re.compile(r".*/site-packages/|.*/lib/python3\.\d+/")


def where(frame: str) -> str:
    """``function (module)``: the file shortened to what names it."""
    m = FRAME.match(frame)
    if not m:
        return frame
    path = m["file"]
    path = SITE.sub("", path)
    path = re.sub(r".*/(kfdeploy|bench)/", r"\1/", path)
    return f"{m['fn']} ({path})"


def summarise(raw: Path, top: int = 15) -> tuple[int, list[tuple[str, int]], list[tuple[str, int]]]:
    self_time: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        frames = [where(f) for f in stack.split(";") if not f.startswith(("thread (", "process "))]
        if not frames:
            continue
        total += n
        self_time[frames[-1]] += n
        for f in set(frames):
            inclusive[f] += n
    return total, self_time.most_common(top), inclusive.most_common(top)


def table(title: str, rows: list[tuple[str, int]], total: int, rate: int) -> list[str]:
    lines = [f"{title}", "", "| function | CPU s | share |", "|---|---|---|"]
    lines += [f"| `{fn}` | {n / rate:.2f} | {100 * n / max(total, 1):.0f} % |" for fn, n in rows]
    return lines + [""]


def record(spec: Path, kubeconfig: Path, raw: Path, rate: int) -> tuple[harness.Run, dict[str, object]]:
    spy = shutil.which("py-spy", path=str(Path(sys.executable).parent)) or shutil.which("py-spy")
    if spy is None:
        raise SystemExit("py-spy is not installed: pip install -e '.[dev]'")
    run = harness.measure([spy, "record", "--gil", "-r", str(rate), "--format", "raw", "-o", str(raw), "--",
                           sys.executable, "-m", "kfdeploy", "apply", "-f", str(spec), "--yes", "-o", "json",
                           "--kubeconfig", str(kubeconfig)]).check("py-spy record kfdeploy apply")
    out, _ = json.JSONDecoder().raw_decode(run.stdout[run.stdout.index("{"):])  # among py-spy's lines
    return run, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, default=1000)
    parser.add_argument("--rate", type=int, default=100, help="samples per second")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "PROFILE.md")
    parser.add_argument("--keep-raw", type=Path, help="keep py-spy's raw stacks (for a flame graph) here")
    args = parser.parse_args()
    lines = [f"# Profile: kfdeploy apply of {args.objects} synthetic objects", "",
             "Written by `python bench/profile.py` (py-spy, the thread holding the GIL); "
             f"load average at start {harness.load()}.", ""]
    with tempfile.TemporaryDirectory(prefix="kfdeploy-bench-") as tmp:
        work = Path(tmp)
        spec = synth.generate(args.objects, work / "apps", harness.PREFIX + "profile")
        try:
            kubeconfig = harness.fresh_cluster(spec)
            for label in ("fresh apply", "no-op re-apply"):
                raw = work / f"{label.split()[0]}.txt"
                run, out = record(spec, kubeconfig, raw, args.rate)
                total, selfs, incl = summarise(raw)
                lines += [f"## {label}: {run.seconds:.1f} s wall, {out['requests']} API requests, "
                          f"{total / args.rate:.1f} s holding the GIL", ""]
                lines += table("Self time (where the CPU is spent)", selfs, total, args.rate)
                lines += table("Inclusive time (what it is spent for)", incl, total, args.rate)
                if args.keep_raw:
                    args.keep_raw.mkdir(parents=True, exist_ok=True)
                    shutil.copy(raw, args.keep_raw / raw.name)
        finally:
            harness.delete_cluster(spec)
    lines.append(f"Load average at end {harness.load()}.")
    args.out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
