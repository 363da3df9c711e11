"""Fuzzing the repo archive extractor (kfdeploy.render.repos.extract): archives built from
hostile member names and kinds, and corrupted bytes. Whatever arrives, extraction either
writes regular files and folders inside its destination only, or raises a RenderError that
names the repo; never another exception, never a write outside. Time-boxed by max_examples
(``KFDEPLOY_FUZZ_EXAMPLES``); the committed corpus (tests/fixtures/fuzz/archives) always runs."""

from __future__ import annotations

import io
import os
import shutil
import tarfile
import tempfile
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kfdeploy.errors import RenderError
from kfdeploy.render import repos

ROOT = Path(__file__).resolve().parents[2]
CORPUS = sorted((ROOT / "tests" / "fixtures" / "fuzz" / "archives").iterdir())
FUZZ = settings(max_examples=int(os.environ.get("KFDEPLOY_FUZZ_EXAMPLES", "100")), deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
WHO, URI = "repo 'fuzzed'", "https://example.com/fuzzed.tar.gz"


def outcome(archive: Path) -> str:
    """Extract in a sandbox folder; check nothing lands outside ``dest`` and nothing is a link."""
    with tempfile.TemporaryDirectory() as tmp:
        sandbox = Path(tmp)
        dest = sandbox / "dest"
        try:
            repos.extract(archive, dest, WHO, URI)
        except RenderError as e:
            assert "fuzzed" in str(e)
            result = "refused"
        else:
            result = "extracted"
            for path in dest.rglob("*"):
                assert not path.is_symlink(), path
                assert path.is_file() or path.is_dir(), path
                assert path.resolve().is_relative_to(dest.resolve()), path
        outside = sorted(p.name for p in sandbox.iterdir())
        assert outside in (["dest"], []), outside
        return result


CORPUS_OUTCOME = {"ok.tar.gz": "extracted", "hardlink.tar.gz": "extracted",  # a link inside: copied
                  "file-then-dir.tar.gz": "refused"}


@pytest.mark.parametrize("path", CORPUS, ids=[p.name for p in CORPUS])
def test_corpus(path: Path, tmp_path: Path) -> None:
    archive = tmp_path / path.name
    shutil.copy(path, archive)
    assert outcome(archive) == CORPUS_OUTCOME.get(path.name, "refused")


parts = st.sampled_from(["repo", "..", ".", "", "a", "b.yaml", "C:", "\\", "..\\..", "/", "~",
                         "kustomization.yaml", "x" * 200, "é"])  # NUL: see test_nul_byte_member below
names = st.lists(parts, min_size=1, max_size=6).map("/".join)
kinds = st.sampled_from(["file", "dir", "sym", "lnk", "fifo"])
members = st.lists(st.tuples(names, kinds, st.binary(max_size=64)), min_size=1, max_size=8)


def tar_bytes(entries: list[tuple[str, str, bytes]]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, kind, data in entries:
            info = tarfile.TarInfo(name)
            if kind == "file":
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
                continue
            info.type = {"dir": tarfile.DIRTYPE, "sym": tarfile.SYMTYPE, "lnk": tarfile.LNKTYPE,
                         "fifo": tarfile.FIFOTYPE}[kind]
            info.linkname = data.decode("latin-1")
            tar.addfile(info)
    return buf.getvalue()


def zip_bytes(entries: list[tuple[str, str, bytes]]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, kind, data in entries:
            info = zipfile.ZipInfo(name + ("/" if kind == "dir" else ""))
            if kind == "sym":
                info.external_attr = 0o120777 << 16
            zf.writestr(info, b"" if kind == "dir" else data)
    return buf.getvalue()


@FUZZ
@given(members, st.sampled_from(["tar.gz", "zip"]))
def test_hostile_members(tmp_path: Path, entries: list[tuple[str, str, bytes]], fmt: str) -> None:
    if fmt == "zip" and any(name == "" for name, _, _ in entries):
        return  # see test_empty_zip_member_name below
    try:
        data = tar_bytes(entries) if fmt == "tar.gz" else zip_bytes(entries)
    except (ValueError, UnicodeError):
        return  # the archive libraries refuse to even write such a member
    archive = tmp_path / f"a-{os.urandom(4).hex()}.{fmt}"
    archive.write_bytes(data)
    outcome(archive)


@FUZZ
@given(st.sampled_from([p for p in CORPUS if p.name == "ok.tar.gz"]), st.data())
def test_corrupted_bytes(tmp_path: Path, good: Path, data: st.DataObject) -> None:
    raw = bytearray(good.read_bytes())
    for _ in range(data.draw(st.integers(1, 8))):
        at = data.draw(st.integers(0, len(raw) - 1))
        raw[at] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(1, len(raw)))
    archive = tmp_path / f"c-{os.urandom(4).hex()}.tar.gz"
    archive.write_bytes(bytes(raw[:cut]))
    outcome(archive)


def test_nul_byte_member(tmp_path: Path) -> None:
    archive = tmp_path / "nul.tar.gz"
    archive.write_bytes(tar_bytes([("x" * 200 + "/a\x00b", "file", b"x")]))  # a PAX name keeps the NUL
    assert outcome(archive) == "refused"


def test_empty_zip_member_name(tmp_path: Path) -> None:
    archive = tmp_path / "empty-name.zip"
    archive.write_bytes(zip_bytes([("repo", "file", b""), ("", "file", b"")]))
    assert outcome(archive) == "refused"
