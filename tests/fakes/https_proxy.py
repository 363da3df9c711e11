"""The internet, on loopback: an HTTPS origin that answers for github.com (and any host named),
reached through a CONNECT proxy on 127.0.0.1, with a certificate authority made in the test.

kfdeploy is pointed at it the way users behind a corporate proxy point any tool: ``HTTPS_PROXY``
names the proxy and ``REQUESTS_CA_BUNDLE`` / ``SSL_CERT_FILE`` trust the test CA. So the code
under test fetches the real ``https://github.com/...`` URLs on its real path (DNS is never asked:
requests sends the host name to the proxy), and no byte leaves the machine.

- ``Origin``: a threaded HTTPS server with one certificate for every host it serves; answers
  from ``files`` (``"github.com/org/repo/archive/v1.tar.gz" -> bytes``), from ``handlers`` for
  misbehaving servers (redirects, endless or trickling bodies; a handler of ``host/path`` answers
  that path whatever its query), else from a folder; records every request as ``host/path``.
- ``ConnectProxy``: accepts ``CONNECT host:443`` and tunnels it to the origin; ``stop()`` takes
  the network down (connections are refused).
- ``network`` fixture: both, with the environment set and a fresh repo cache.
"""

from __future__ import annotations

import datetime
import http.server
import ipaddress
import select
import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

HOSTS = ("github.com", "gitlab.com", "artifacts.corp.example", "charts.example.org", "ghcr.io",
         "registry-1.docker.io", "blobs.example.net", "127.0.0.1")
Handler = Callable[[http.server.BaseHTTPRequestHandler], None]


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _san(host: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        return x509.DNSName(host)


class LocalCA:
    """A certificate authority made for one test; ``issue`` signs a server certificate."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kfdeploy test CA")])
        self.cert = self._build(self.name, self.key.public_key(), ca=True, hosts=())
        self.pem = folder / "ca.pem"
        self.pem.write_bytes(self.cert.public_bytes(serialization.Encoding.PEM))

    def _build(self, subject: x509.Name, public: ec.EllipticCurvePublicKey, ca: bool,
               hosts: tuple[str, ...]) -> x509.Certificate:
        now = datetime.datetime.now(datetime.UTC)
        builder = (x509.CertificateBuilder().subject_name(subject).issuer_name(self.name).public_key(public)
                   .serial_number(x509.random_serial_number())
                   .not_valid_before(now - datetime.timedelta(days=1))
                   .not_valid_after(now + datetime.timedelta(days=1))
                   .add_extension(x509.BasicConstraints(ca=ca, path_length=None), True))
        if hosts:
            builder = builder.add_extension(x509.SubjectAlternativeName([_san(h) for h in hosts]), False)
        return builder.sign(self.key, hashes.SHA256())

    def issue(self, hosts: tuple[str, ...]) -> tuple[Path, Path]:
        """A server certificate and key (PEM files) valid for ``hosts``."""
        key = ec.generate_private_key(ec.SECP256R1())
        cert = self._build(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hosts[0])]),
                           key.public_key(), ca=False, hosts=hosts)
        cert_file, key_file = self.folder / "server.pem", self.folder / "server.key"
        cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        key_file.write_bytes(_pem_key(key))
        return cert_file, key_file


@dataclass
class Origin:
    """An HTTPS server on 127.0.0.1 answering for ``hosts``; see the module docstring."""

    ca: LocalCA
    folder: Path | None = None
    hosts: tuple[str, ...] = HOSTS
    files: dict[str, bytes] = field(default_factory=dict)
    handlers: dict[str, Handler] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        origin = self

        class RequestHandler(http.server.SimpleHTTPRequestHandler):
            def __init__(self, *a: object, **kw: object) -> None:
                super().__init__(*a, directory=str(origin.folder or "/nonexistent"), **kw)  # type: ignore[arg-type]

            def do_GET(self) -> None:
                host = (self.headers.get("Host") or "").split(":")[0]
                key = f"{host}{self.path}"
                origin.requests.append(key)
                handler = origin.handlers.get(key) or origin.handlers.get(key.split("?")[0])
                if handler is not None:
                    handler(self)
                elif key in origin.files:
                    body = origin.files[key]
                    self.send_response(200)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                elif origin.folder is not None:
                    super().do_GET()
                else:
                    self.send_error(404)

            def log_message(self, *args: object) -> None:
                pass

        cert, key = self.ca.issue(self.hosts)
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), RequestHandler)
        self.httpd.daemon_threads = True
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True)
        self.port = self.httpd.server_address[1]
        self.url = f"https://127.0.0.1:{self.port}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def add(self, url: str, body: bytes) -> None:
        """Serve ``body`` at ``url`` (``https://host/path``)."""
        self.files[url.removeprefix("https://")] = body

    def handle(self, url: str, handler: Handler) -> None:
        self.handlers[url.removeprefix("https://")] = handler

    def got(self, url: str) -> int:
        """How many times ``url`` was requested."""
        return self.requests.count(url.removeprefix("https://"))

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class ConnectProxy:
    """An HTTP proxy on 127.0.0.1 that tunnels ``CONNECT`` to the origin and refuses the rest."""

    def __init__(self, origin_port: int) -> None:
        self.origin_port = origin_port
        self.connects: list[str] = []
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(32)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self._stopped = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._stopped.is_set():
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        with client:
            head = b""
            while b"\r\n\r\n" not in head and len(head) < 65536:
                chunk = client.recv(4096)
                if not chunk:
                    return
                head += chunk
            line = head.split(b"\r\n", 1)[0].decode("latin-1").split()
            if len(line) < 2 or line[0] != "CONNECT":
                client.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
                return
            self.connects.append(line[1])
            with socket.create_connection(("127.0.0.1", self.origin_port)) as upstream:
                client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
                _pipe(client, upstream, self._stopped)

    def stop(self) -> None:
        """Take the network down: new connections are refused, open tunnels end."""
        self._stopped.set()
        self.sock.close()


def _pipe(a: socket.socket, b: socket.socket, stopped: threading.Event) -> None:
    while not stopped.is_set():
        ready, _, _ = select.select([a, b], [], [], 0.2)
        try:
            for s in ready:
                data = s.recv(65536)
                if not data:
                    return
                (b if s is a else a).sendall(data)
        except OSError:  # one side hung up: the tunnel ends
            return


@dataclass
class Network:
    """What the ``network`` fixture gives a test."""

    origin: Origin
    proxy: ConnectProxy
    ca: LocalCA
    cache: Path

    def down(self) -> None:
        self.proxy.stop()


@pytest.fixture
def network(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Network]:
    """github.com and friends served from this test, through HTTPS_PROXY, with a fresh cache."""
    (tmp_path / "ca").mkdir()
    ca = LocalCA(tmp_path / "ca")
    origin = Origin(ca)
    proxy = ConnectProxy(origin.port)
    for var in ("HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy", "https_proxy", "no_proxy",
                "KFDEPLOY_OFFLINE", "KFDEPLOY_URL_REWRITE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HTTPS_PROXY", proxy.url)
    monkeypatch.setenv("NO_PROXY", "")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(ca.pem))
    monkeypatch.setenv("SSL_CERT_FILE", str(ca.pem))
    monkeypatch.setenv("KFDEPLOY_REPO_CACHE", str(tmp_path / "cache"))
    yield Network(origin, proxy, ca, tmp_path / "cache")
    proxy.stop()
    origin.stop()
