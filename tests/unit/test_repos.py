"""spec.repos resolution: folders, archives, downloads from a real local HTTPS server (a
self-signed certificate made here, trusted through REQUESTS_CA_BUNDLE), the cache, digests,
offline errors and unsafe archives."""

from __future__ import annotations

import datetime
import hashlib
import http.server
import io
import ipaddress
import ssl
import tarfile
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

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


class Server:
    """An HTTPS file server on 127.0.0.1 that counts the requests it answers."""

    def __init__(self, root: Path, cert: Path, key: Path) -> None:
        root_dir = str(root)
        counts = self.counts = {"GET": 0}

        class Handler(http.server.SimpleHTTPRequestHandler):
            def __init__(self, *a: object, **kw: object) -> None:
                super().__init__(*a, directory=root_dir, **kw)  # type: ignore[arg-type]

            def do_GET(self) -> None:
                counts["GET"] += 1
                super().do_GET()

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True)
        self.url = f"https://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def self_signed(tmp: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
            .sign(key, hashes.SHA256()))
    cert_file, key_file = tmp / "cert.pem", tmp / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_file, key_file


@pytest.fixture
def server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Server]:
    (tmp_path / "www").mkdir()
    cert, key = self_signed(tmp_path)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(cert))
    srv = Server(tmp_path / "www", cert, key)
    yield srv
    srv.stop()


@pytest.fixture
def cache(tmp_path: Path) -> Path:
    return tmp_path / "cache"


def resolver(cache: Path, base: Path, lines: list[str] | None = None) -> RepoResolver:
    return RepoResolver(base, cache, report=(lines.append if lines is not None else lambda _: None))


def test_download_is_extracted_with_top_folder_stripped_and_never_fetched_again(
        server: Server, tmp_path: Path, cache: Path) -> None:
    archive = make_tar(tmp_path / "www" / "v1.tar.gz", FILES)
    repo = Repo(name="m", uri=f"{server.url}/v1.tar.gz")
    lines: list[str] = []
    root = resolver(cache, tmp_path, lines).root(repo)
    assert (root / "base" / "kustomization.yaml").read_text() == FILES["base/kustomization.yaml"]
    assert root.parent == cache / "sha256" / sha(archive)  # content-addressed
    assert any("downloading" in line and repo.uri in line for line in lines)
    assert server.counts["GET"] == 1
    pinned = Repo(name="m", uri=repo.uri, sha256=sha(archive))
    assert resolver(cache, tmp_path).root(repo) == root  # unpinned: the URL record
    assert resolver(cache, tmp_path).root(pinned) == root  # pinned: the digest names the entry
    assert server.counts["GET"] == 1


def test_pinned_cache_entry_is_used_offline(server: Server, tmp_path: Path, cache: Path) -> None:
    archive = make_tar(tmp_path / "www" / "v1.tar.gz", FILES)
    repo = Repo(name="m", uri=f"{server.url}/v1.tar.gz", sha256=sha(archive))
    first = resolver(cache, tmp_path).root(repo)
    server.stop()
    assert resolver(cache, tmp_path).root(repo) == first


def test_sha256_mismatch_names_repo_expected_and_actual(server: Server, tmp_path: Path, cache: Path) -> None:
    archive = make_tar(tmp_path / "www" / "v1.tar.gz", FILES)
    wrong = "0" * 64
    with pytest.raises(RenderError) as err:
        resolver(cache, tmp_path).root(Repo(name="manifests", uri=f"{server.url}/v1.tar.gz", sha256=wrong))
    text = str(err.value)
    assert "repo 'manifests'" in text and wrong in text and sha(archive) in text
    assert not (cache / "sha256").exists() or not any((cache / "sha256").iterdir())


@pytest.mark.parametrize("path, words", [("missing.tar.gz", "HTTP 404"), (None, "cannot connect")],
                         ids=["not-found", "offline"])
def test_failed_download_names_uri_and_says_use_a_local_copy(server: Server, tmp_path: Path, cache: Path,
                                                             path: str | None, words: str) -> None:
    uri = f"{server.url}/{path}"
    if path is None:
        server.stop()
        uri = f"{server.url}/v1.tar.gz"
    with pytest.raises(RenderError) as err:
        resolver(cache, tmp_path).root(Repo(name="m", uri=uri))
    assert uri in err.value.message and words in err.value.message
    assert err.value.hint and "local archive" in err.value.hint


def test_untrusted_certificate_is_refused(server: Server, tmp_path: Path, cache: Path,
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
