"""spec.repos resolution: folders, archives, downloads from a real local HTTPS server (its
certificate from a CA made here, trusted through REQUESTS_CA_BUNDLE), the cache, digests,
offline errors and unsafe archives."""

from __future__ import annotations

import hashlib
import io
import tarfile
import zipfile
from pathlib import Path

import pytest
from fakes.https_proxy import Origin

from kfdeploy.errors import RenderError
from kfdeploy.render.repos import RepoResolver
from kfdeploy.spec import Repo


def make_tar(path: Path, files: dict[str, str], top: str | None = "release-1.0") -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(f"{top}/{name}" if top else name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


FILES = {"base/kustomization.yaml": "resources: []\n", "README.md": "hi\n"}


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def server(https_origin: Origin) -> Origin:
    """A file server at https://127.0.0.1:PORT serving tmp_path/www (tests/conftest.py)."""
    return https_origin


@pytest.fixture
def cache(tmp_path: Path) -> Path:
    return tmp_path / "cache"


def resolver(cache: Path, base: Path, lines: list[str] | None = None) -> RepoResolver:
    return RepoResolver(base, cache, report=(lines.append if lines is not None else lambda _: None))


def test_download_is_extracted_with_top_folder_stripped_and_never_fetched_again(
        server: Origin, tmp_path: Path, cache: Path) -> None:
    archive = make_tar(tmp_path / "www" / "v1.tar.gz", FILES)
    repo = Repo(name="m", uri=f"{server.url}/v1.tar.gz")
    lines: list[str] = []
    root = resolver(cache, tmp_path, lines).root(repo)
    assert (root / "base" / "kustomization.yaml").read_text() == FILES["base/kustomization.yaml"]
    assert root.parent == cache / "sha256" / sha(archive)  # content-addressed
    assert any("downloading" in line and repo.uri in line for line in lines)
    assert len(server.requests) == 1
    pinned = Repo(name="m", uri=repo.uri, sha256=sha(archive))
    assert resolver(cache, tmp_path).root(repo) == root  # unpinned: the URL record
    assert resolver(cache, tmp_path).root(pinned) == root  # pinned: the digest names the entry
    assert len(server.requests) == 1


def test_pinned_cache_entry_is_used_offline(server: Origin, tmp_path: Path, cache: Path) -> None:
    archive = make_tar(tmp_path / "www" / "v1.tar.gz", FILES)
    repo = Repo(name="m", uri=f"{server.url}/v1.tar.gz", sha256=sha(archive))
    first = resolver(cache, tmp_path).root(repo)
    server.stop()
    assert resolver(cache, tmp_path).root(repo) == first


def test_sha256_mismatch_names_repo_expected_and_actual(server: Origin, tmp_path: Path, cache: Path) -> None:
    archive = make_tar(tmp_path / "www" / "v1.tar.gz", FILES)
    wrong = "0" * 64
    with pytest.raises(RenderError) as err:
        resolver(cache, tmp_path).root(Repo(name="manifests", uri=f"{server.url}/v1.tar.gz", sha256=wrong))
    text = str(err.value)
    assert "repo 'manifests'" in text and wrong in text and sha(archive) in text
    assert not (cache / "sha256").exists() or not any((cache / "sha256").iterdir())


@pytest.mark.parametrize("path, words", [("missing.tar.gz", "HTTP 404"), (None, "cannot connect")],
                         ids=["not-found", "offline"])
def test_failed_download_names_uri_and_says_use_a_local_copy(server: Origin, tmp_path: Path, cache: Path,
                                                             path: str | None, words: str) -> None:
    uri = f"{server.url}/{path}"
    if path is None:
        server.stop()
        uri = f"{server.url}/v1.tar.gz"
    with pytest.raises(RenderError) as err:
        resolver(cache, tmp_path).root(Repo(name="m", uri=uri))
    assert uri in err.value.message and words in err.value.message
    assert err.value.hint and "local archive" in err.value.hint


def test_untrusted_certificate_is_refused(server: Origin, tmp_path: Path, cache: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    make_tar(tmp_path / "www" / "v1.tar.gz", FILES)
    monkeypatch.delenv("REQUESTS_CA_BUNDLE")
    with pytest.raises(RenderError, match="TLS verification failed"):
        resolver(cache, tmp_path).root(Repo(name="m", uri=f"{server.url}/v1.tar.gz"))


def test_local_folder_is_used_in_place(tmp_path: Path, cache: Path) -> None:
    (tmp_path / "tree").mkdir()
    assert resolver(cache, tmp_path).root(Repo(name="m", uri="tree")) == tmp_path / "tree"
    assert not cache.exists()


def test_local_zip_and_tar_without_top_folder(tmp_path: Path, cache: Path) -> None:
    with zipfile.ZipFile(tmp_path / "r.zip", "w") as zf:
        for name, text in FILES.items():
            zf.writestr(f"top/{name}", text)
    zroot = resolver(cache, tmp_path).root(Repo(name="z", uri="r.zip"))
    assert (zroot / "README.md").read_text() == "hi\n"
    flat = make_tar(tmp_path / "flat.tar.gz", FILES, top=None)
    troot = resolver(cache, tmp_path).root(Repo(name="t", uri=str(flat)))
    assert sorted(p.name for p in troot.iterdir() if not p.name.startswith(".")) == ["README.md", "base"]


def test_local_archive_digest_is_checked(tmp_path: Path, cache: Path) -> None:
    make_tar(tmp_path / "r.tar.gz", FILES)
    with pytest.raises(RenderError, match="sha256 mismatch"):
        resolver(cache, tmp_path).root(Repo(name="m", uri="r.tar.gz", sha256="1" * 64))


def test_missing_local_repo_is_named(tmp_path: Path, cache: Path) -> None:
    with pytest.raises(RenderError, match=r"repo 'm': .*nope does not exist"):
        resolver(cache, tmp_path).root(Repo(name="m", uri="nope"))


def evil_tar(path: Path, kind: str) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        info = tarfile.TarInfo("top/ok.yaml")
        info.size = 2
        tar.addfile(info, io.BytesIO(b"a\n"))
        bad = tarfile.TarInfo({"dotdot": "top/../../escape.yaml", "absolute": "/etc/escape",
                               "symlink": "top/link", "device": "top/dev"}[kind])
        if kind == "symlink":
            bad.type, bad.linkname = tarfile.SYMTYPE, "../../../etc/passwd"
        elif kind == "device":
            bad.type = tarfile.CHRTYPE
        else:
            bad.size = 2
        tar.addfile(bad, io.BytesIO(b"x\n") if bad.isfile() else None)
    return path


@pytest.mark.parametrize("kind", ["dotdot", "absolute", "symlink", "device"])
def test_unsafe_tar_members_are_refused_and_nothing_is_written(tmp_path: Path, cache: Path, kind: str) -> None:
    archive = evil_tar(tmp_path / "evil.tar.gz", kind)
    with pytest.raises(RenderError, match="unsafe member"):
        resolver(cache, tmp_path).root(Repo(name="m", uri=str(archive)))
    assert not (tmp_path / "escape.yaml").exists()
    assert not (cache / "sha256" / sha(archive)).exists()


def test_unsafe_zip_member_is_refused(tmp_path: Path, cache: Path) -> None:
    with zipfile.ZipFile(tmp_path / "evil.zip", "w") as zf:
        zf.writestr("../escape.yaml", "x")
    with pytest.raises(RenderError, match="unsafe member"):
        resolver(cache, tmp_path).root(Repo(name="m", uri="evil.zip"))


def test_links_inside_the_archive_become_copies_and_no_link_is_made(tmp_path: Path, cache: Path) -> None:
    """Source repositories have them (argo-workflows' test folders link to its examples)."""
    path = tmp_path / "linked.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        info = tarfile.TarInfo("top/examples/a.yaml")
        info.size = 2
        tar.addfile(info, io.BytesIO(b"a\n"))
        for name, kind, target in [("top/test/a.yaml", tarfile.SYMTYPE, "../examples/a.yaml"),
                                   ("top/test/hard.yaml", tarfile.LNKTYPE, "top/examples/a.yaml"),
                                   ("top/test/dir", tarfile.SYMTYPE, "../examples")]:
            link = tarfile.TarInfo(name)
            link.type, link.linkname = kind, target
            tar.addfile(link)
    root = resolver(cache, tmp_path).root(Repo(name="m", uri=str(path)))
    assert (root / "test" / "a.yaml").read_text() == "a\n" and not (root / "test" / "a.yaml").is_symlink()
    assert (root / "test" / "hard.yaml").read_text() == "a\n"
    assert not (root / "test" / "dir").exists()  # a link to a folder is left out
    assert not any(p.is_symlink() for p in root.rglob("*"))
