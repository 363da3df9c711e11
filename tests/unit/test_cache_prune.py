"""``kfdeploy cache list|prune`` on real caches in a temporary XDG_CACHE_HOME, filled by the code
that fills them in a render (``RepoResolver.add``, ``RenderCache.put``) and aged by setting file
times: what a spec's lock pins stays, what no run used for the duration goes, a use refreshes an
entry, a dry run removes nothing, symlinks are not followed and a concurrent writer's temporaries
are left alone."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tarfile
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner, Result

from kfdeploy.cli import cli
from kfdeploy.render.cache import RenderCache
from kfdeploy.render.lock import Lock, lock_path
from kfdeploy.render.repos import DONE_MARK, RepoResolver, file_digest
from kfdeploy.workflow.session import load_spec

DAY = 86400.0
URLS = {name: f"https://github.com/example-org/{name}/archive/v1.tar.gz" for name in ("pinned", "old", "recent")}


def kfdeploy(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def age(path: Path, days: float) -> None:
    """Make ``path`` look last used (modified) ``days`` ago."""
    then = time.time() - days * DAY
    os.utime(path, (then, then), follow_symlinks=False)


def archive(name: str) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        data = (name * 1000).encode()
        info = tarfile.TarInfo(f"{name}-1/files/{name}.yaml")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An XDG_CACHE_HOME that both caches live in."""
    for var in ("KFDEPLOY_REPO_CACHE", "KFDEPLOY_RENDER_CACHE", "KFDEPLOY_NO_CACHE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    return tmp_path / "xdg" / "kfdeploy"


def download(home: Path, tmp_path: Path, name: str) -> str:
    """Cache ``URLS[name]`` as a download does; returns its digest."""
    source = tmp_path / f"{name}.tar.gz"
    source.write_bytes(archive(name))
    digest = file_digest(source)
    RepoResolver(tmp_path, lock=Lock()).add(URLS[name], name, digest, source, None)
    return digest


@pytest.fixture
def filled(home: Path, tmp_path: Path) -> dict[str, Any]:
    """Three downloads (pinned and old, old, recent), two renders (old, recent) and a spec whose
    lock pins the first download."""
    digests = {name: download(home, tmp_path, name) for name in URLS}
    for name in ("pinned", "old"):
        age(home / "repos" / "sha256" / digests[name] / DONE_MARK, 40)
    renders = RenderCache.open()
    renders.put("a" * 64, [{"kind": "ConfigMap", "metadata": {"name": "old"}}])
    renders.put("b" * 64, [{"kind": "ConfigMap", "metadata": {"name": "recent"}}])
    age(renders.entry("a" * 64), 40)
    spec = tmp_path / "site" / "kfdef.yaml"
    spec.parent.mkdir()
    spec.write_text(yaml.safe_dump({"apiVersion": "kfdef.apps.kubeflow.org/v1", "kind": "KfDef",
                                    "metadata": {"name": "t"}, "spec": {"platform": {"kind": "kwok"}}}))
    lock_path(spec).write_text(yaml.safe_dump(Lock(None, {URLS["pinned"]: digests["pinned"]}).to_data()))
    return {"digests": digests, "spec": spec, "renders": renders}


def tree(root: Path) -> dict[str, int]:
    """Every path under ``root`` and its size (links as links)."""
    return {str(p.relative_to(root)): p.lstat().st_size for p in sorted(root.rglob("*"))}


def repo_paths(home: Path, digest: str) -> list[Path]:
    return [home / "repos" / "sha256" / digest, home / "repos" / "blobs" / digest]


def test_prune_keeps_what_the_lock_pins_and_what_was_used_and_removes_the_rest(
        home: Path, filled: dict[str, Any]) -> None:
    digests, renders = filled["digests"], filled["renders"]
    url_records_before = len(list((home / "repos" / "urls").iterdir()))
    result = kfdeploy("cache", "prune", "-f", str(filled["spec"]), "-o", "json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert {(e["cache"], e["name"]) for e in report["removed"]} == {("repos", digests["old"]), ("render", "a" * 64)}
    assert report["freedBytes"] == sum(e["bytes"] for e in report["removed"]) > 0
    assert [e["name"] for e in report["keptPinned"]] == [digests["pinned"]]
    assert not any(p.exists() for p in repo_paths(home, digests["old"]))
    assert all(p.exists() for name in ("pinned", "recent") for p in repo_paths(home, digests[name]))
    assert not renders.entry("a" * 64).exists() and renders.get("b" * 64) is not None
    assert len(list((home / "repos" / "urls").iterdir())) == url_records_before - 1
    assert RepoResolver(home, lock=Lock()).complete(digests["pinned"])


def test_a_use_refreshes_an_entry_and_without_the_spec_the_pin_goes_too(
        home: Path, filled: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    digests, renders = filled["digests"], filled["renders"]
    monkeypatch.setenv("KFDEPLOY_OFFLINE", "1")
    RepoResolver(tmp_path, lock=Lock()).fetch(URLS["old"], "old", "offline", pinned=digests["old"])
    assert renders.get("a" * 64) is not None
    result = kfdeploy("cache", "prune", "--older-than", "30d")
    assert result.exit_code == 0, result.output
    assert "removed 1 entries" in result.output and digests["pinned"][:16] in result.output
    assert not any(p.exists() for p in repo_paths(home, digests["pinned"]))
    assert all(p.exists() for p in repo_paths(home, digests["old"])) and renders.entry("a" * 64).exists()


def test_dry_run_removes_nothing_and_says_what_would_go(home: Path, filled: dict[str, Any]) -> None:
    before = tree(home)
    result = kfdeploy("cache", "prune", "--dry-run", "--older-than", "1h", "-o", "json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["dryRun"] and report["freedBytes"] == 0 and len(report["removed"]) == 3
    assert tree(home) == before
    text = kfdeploy("cache", "prune", "--dry-run", "--older-than", "1h").output
    assert text.startswith("would remove 3 entries") and tree(home) == before


def test_symlinks_in_a_cache_are_neither_followed_nor_counted(home: Path, filled: dict[str, Any],
                                                              tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    (outside / "deep").mkdir(parents=True)
    (outside / "deep" / "precious.yaml").write_bytes(b"x" * 3_000_000)
    planted = {home / "repos" / "sha256" / ("e" * 64): outside,
               home / "repos" / "sha256" / filled["digests"]["old"] / "escape": outside,
               filled["renders"].entry("c" * 64): outside / "deep" / "precious.yaml"}
    for link, target in planted.items():
        link.parent.mkdir(exist_ok=True)
        link.symlink_to(target)
        age(link, 40)
    listing = json.loads(kfdeploy("cache", "list", "-o", "json").output)
    assert all(c["bytes"] < 3_000_000 for c in listing["caches"])
    assert "e" * 64 not in {i["name"] for c in listing["caches"] for i in c["items"]}
    result = kfdeploy("cache", "prune", "--older-than", "0s")
    assert result.exit_code == 0, result.output
    assert (outside / "deep" / "precious.yaml").read_bytes() == b"x" * 3_000_000
    assert not (home / "repos" / "sha256" / filled["digests"]["old"]).exists()


def dead_pid() -> int:
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True,
                          check=True)
    return int(done.stdout)


def test_a_concurrent_writers_temporaries_are_left_alone_until_abandoned(home: Path, filled: dict[str, Any]) -> None:
    repos, renders = home / "repos", filled["renders"]
    live = repos / f".download-{os.getpid()}-abc"  # this process is alive: a download in progress
    fresh = repos / "sha256" / f".extract-{dead_pid()}-def"  # its writer is gone, but it changed just now
    abandoned = repos / f".extract-{dead_pid()}-ghi"  # writer gone, untouched for two days
    render_tmp = renders.entry("d" * 64).with_name(".tmp-xyz.json")
    for folder in (live, fresh, abandoned):
        (folder / "tree").mkdir(parents=True)
        (folder / "tree" / "part").write_bytes(b"partial")
    render_tmp.parent.mkdir(exist_ok=True)
    render_tmp.write_text("{")
    for path in (live, live / "tree", live / "tree" / "part", abandoned, abandoned / "tree",
                 abandoned / "tree" / "part"):
        age(path, 2)
    result = kfdeploy("cache", "prune", "--older-than", "0s", "-o", "json")
    assert result.exit_code == 0, result.output
    assert live.exists() and fresh.exists() and render_tmp.exists() and not abandoned.exists()
    assert [e["name"] for e in json.loads(result.output)["removed"] if e["temporary"]] == [abandoned.name]


def test_list_marks_what_the_lock_pins_and_sums_each_cache(home: Path, filled: dict[str, Any]) -> None:
    result = kfdeploy("cache", "list", "-f", str(filled["spec"]), "-o", "json")
    assert result.exit_code == 0, result.output
    caches = {c["name"]: c for c in json.loads(result.output)["caches"]}
    assert caches["repos"]["path"] == str(home / "repos") and caches["render"]["path"] == str(home / "render")
    assert (caches["repos"]["entries"], caches["render"]["entries"]) == (3, 2)
    pinned = [i for i in caches["repos"]["items"] if i["pinned"]]
    assert [(i["name"], i["url"]) for i in pinned] == [(filled["digests"]["pinned"], URLS["pinned"])]
    for c in caches.values():
        assert c["bytes"] == sum(i["bytes"] for i in c["items"]) > 0
    text = kfdeploy("cache", "list", "-f", str(filled["spec"])).output
    assert "pinned" in text and URLS["old"] in text


def test_a_local_archive_repo_of_the_spec_is_pinned_too(home: Path, tmp_path: Path) -> None:
    site = tmp_path / "local"
    site.mkdir()
    (site / "release.tar.gz").write_bytes(archive("local"))
    spec = site / "kfdef.yaml"
    spec.write_text(yaml.safe_dump({"apiVersion": "kfdef.apps.kubeflow.org/v1", "kind": "KfDef",
                                    "metadata": {"name": "t"}, "spec": {"platform": {"kind": "kwok"},
                                    "repos": [{"name": "r", "uri": "release.tar.gz"}]}}))
    loaded = load_spec(spec)
    RepoResolver.for_spec(loaded).root(loaded.spec.repos[0])
    entry = home / "repos" / "sha256" / file_digest(site / "release.tar.gz")
    age(entry / DONE_MARK, 400)
    assert kfdeploy("cache", "prune", "--older-than", "0s", "-f", str(spec)).exit_code == 0
    assert entry.is_dir()
    assert kfdeploy("cache", "prune", "--older-than", "0s").exit_code == 0
    assert not entry.exists()


@pytest.mark.parametrize("duration", ["30", "thirty days", "5y", "-1d", ""])
def test_a_bad_duration_is_bad_input(home: Path, duration: str) -> None:
    result = CliRunner().invoke(cli, ["cache", "prune", "--older-than", duration])
    assert result.exit_code == 3 and "--older-than" in result.output and "30d" in result.output
