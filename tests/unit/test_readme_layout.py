"""The README's Layout lists what is there: every top-level entry of the repository and every
module and package of kfdeploy/ (a new one must be placed in the picture)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def layout() -> str:
    text = (ROOT / "README.md").read_text()
    return text.split("## Layout", 1)[1].split("```", 2)[1]


def tracked_top_level() -> set[str]:
    listed = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    return {line.split("/", 1)[0] for line in listed.splitlines() if line} - {".gitignore", "README.md"}


def test_every_top_level_entry_is_in_the_layout() -> None:
    words = set(re.findall(r"[\w.]+", layout()))
    assert sorted(e for e in tracked_top_level() if e not in words) == []


def test_every_kfdeploy_module_and_package_is_in_the_layout() -> None:
    text = layout()
    parts = [p.name for p in (ROOT / "kfdeploy").iterdir()
             if (p.suffix == ".py" and p.stem not in ("__init__", "__main__")) or (p.is_dir() and p.name != "__pycache__")]
    assert sorted(p for p in parts if p not in text and f"{p}/" not in text) == []
