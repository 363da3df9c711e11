"""The archive extractor under generated hostile archives (hypothesis): whatever the members —
names with ``..``, absolute or drive paths, backslashes, links in or out, devices, duplicate
names, sizes — it either refuses with a RenderError naming the archive, or writes regular files
and folders only, all inside the destination."""

from __future__ import annotations

import io
import os
import tarfile
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kfdeploy.errors import RenderError
from kfdeploy.render.repos import extract

SEGMENTS = st.sampled_from(["top", "a", "b", "..", ".", "", "C:", "x\\..\\..", "kustomization.yaml", "é"])
NAMES = st.builds(lambda parts, absolute: ("/" if absolute else "") + "/".join(parts),
                  st.lists(SEGMENTS, min_size=1, max_size=5), st.booleans())
KINDS = st.sampled_from([tarfile.REGTYPE, tarfile.DIRTYPE, tarfile.SYMTYPE, tarfile.LNKTYPE, tarfile.CHRTYPE,
                         tarfile.FIFOTYPE])
MEMBERS = st.lists(st.tuples(NAMES, KINDS, NAMES, st.binary(max_size=64)), min_size=1, max_size=12)


def archive(members: list[tuple[str, bytes, str, bytes]], path: Path) -> None:
    with tarfile.open(path, "w:gz") as tar:
        for name, kind, link, data in members:
            info = tarfile.TarInfo(name or ".")
            info.type = kind
            if kind in (tarfile.SYMTYPE, tarfile.LNKTYPE):
                info.linkname = link
            if kind == tarfile.REGTYPE:
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
            else:
                tar.addfile(info)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(MEMBERS)
def test_extraction_refuses_or_stays_inside(members: list[tuple[str, bytes, str, bytes]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "outside").mkdir()
        src = root / "in" / "a.tar.gz"
        src.parent.mkdir()
        archive(members, src)
        dest = root / "in" / "dest"
        try:
            extract(src, dest, "repo 'fuzz'", str(src))
        except RenderError as e:
            assert str(src) in e.message
            return
        assert list((root / "outside").iterdir()) == []
        for top, dirs, files in os.walk(dest):
            for name in dirs + files:
                path = Path(top) / name
                assert not path.is_symlink() and (path.is_dir() or path.is_file())
                assert dest.resolve() in path.resolve().parents
