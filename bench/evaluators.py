"""Compare the jsonnet evaluators on the real component library, side by side in one run.

Every library component is rendered with its default params by each installed evaluator
(rjsonnet, jsonnet (C++), gojsonnet); an evaluator that is not installed is skipped. The best
of ``--repeat`` runs is reported, with the ratio to the fastest. A second table compares
rendering the components one after another with rendering them on a thread pool, which is
what decides whether ``render`` evaluates applications concurrently.

    python bench/evaluators.py [--repeat 3] [--only rjsonnet,jsonnet]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from kfdeploy.errors import RenderError
from kfdeploy.library import Component, default_root, load_component
from kfdeploy.render import jsonnet


def components(root: Path) -> list[Component]:
    """Every component that loads; broken ones are reported and left out."""
    found = []
    for d in sorted((root / "jsonnet" / "components").iterdir()):
        try:
            found.append(load_component(d))
        except RenderError as e:
            print(f"skipping {d.name}: {e.message.splitlines()[0]}", file=sys.stderr)
    return found


def render_all(comps: list[Component], jpath: list[Path], engine: str) -> int:
    """Render each component once; the number of top-level values, so work is not optimised away."""
    return sum(len(jsonnet.evaluate(c.main, c.defaults(), jpath, engine) or []) for c in comps)


def best_of(repeat: int, fn: Callable[[], object]) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def table(rows: list[tuple[str, float]], title: str) -> str:
    fastest = min(t for _, t in rows)
    lines = [title, f"  {'':<22}{'seconds':>10}{'ratio':>10}"]
    lines += [f"  {name:<22}{t:>10.3f}{t / fastest:>9.1f}x" for name, t in sorted(rows, key=lambda r: r[1])]
    return "\n".join(lines)


def measure(repeat: int = 3, only: str = "") -> dict[str, Any]:
    """Seconds per evaluator over the whole library, and sequential vs threaded for the fastest."""
    root = default_root()
    jpath = [root / "jsonnet" / "lib"]
    comps = components(root)
    wanted = [e for e in jsonnet.ENGINE_MODULES if not only or e in only.split(",")]
    installed = jsonnet.available_engines()
    for name in wanted:
        if name not in installed:
            print(f"skipping {name}: not installed (pip install {name})", file=sys.stderr)
    engines = [e for e in wanted if e in installed]
    if not engines:
        sys.exit("no jsonnet evaluator installed")
    rows = [(e, best_of(repeat, lambda e=e: render_all(comps, jpath, e))) for e in engines]
    fastest = min(rows, key=lambda r: r[1])[0]
    with ThreadPoolExecutor(max_workers=2) as pool:
        def threaded() -> None:
            list(pool.map(lambda c: jsonnet.evaluate(c.main, c.defaults(), jpath, fastest), comps))
        seq = best_of(repeat, lambda: render_all(comps, jpath, fastest))
        par = best_of(repeat, threaded)
    return {"components": [c.name for c in comps], "repeat": repeat, "engines": dict(rows),
            "fastest": fastest, "sequential": seq, "threaded": par}


def report(r: dict[str, Any]) -> str:
    return "\n".join([
        f"{len(r['components'])} components: {', '.join(r['components'])}; best of {r['repeat']}",
        table(list(r["engines"].items()), "whole library, defaults"),
        table([("sequential", r["sequential"]), ("2 threads", r["threaded"])], f"concurrency ({r['fastest']})")])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--only", default="", help="comma-separated evaluators to measure")
    args = parser.parse_args()
    print(report(measure(args.repeat, args.only)))


if __name__ == "__main__":
    main()
