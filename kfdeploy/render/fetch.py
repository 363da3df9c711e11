"""kfdeploy's one way to the network: bounded https downloads.

Every byte a render reads from the network comes through ``download``: repos given as URLs,
the remote bases their kustomizations name, and nothing else (kustomize and helm run with the
network closed, see ``network_guard_env``). So the rules hold in one place:

- https only, redirects included: a redirect to plain http is refused;
- ``HTTPS_PROXY`` / ``NO_PROXY`` and ``REQUESTS_CA_BUNDLE`` (or ``SSL_CERT_FILE``) are honoured;
- ``KFDEPLOY_URL_REWRITE`` sends URLs to an artifact proxy (git's ``insteadOf``, in spirit);
- ``KFDEPLOY_OFFLINE=1`` (``kfdeploy --offline``) forbids downloads altogether;
- a registry's ``401`` challenge is answered by the caller's ``Access`` (``render.oci``), and
  its ``Authorization`` header never follows a redirect to another host;
- size and time are bounded (``limits.DOWNLOAD_MB``, ``limits.DOWNLOAD_SECONDS``), each named
  with the setting that raises it;
- Ctrl-C (``CANCEL``) and the deadline end a download at once: a watchdog shuts its connection.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from types import FrameType
from typing import Protocol
from urllib.parse import urljoin, urlsplit

import requests
import urllib3

from kfdeploy import limits
from kfdeploy.errors import FetchError, RenderError
from kfdeploy.tools import ENV_OFFLINE, offline

ENV_REWRITE = "KFDEPLOY_URL_REWRITE"
CONNECT_TIMEOUT = 15.0
READ_TIMEOUT = 30.0  # between bytes; the whole download has its own deadline
BLOCK = 1 << 16
MAX_REDIRECTS = 10
CANCEL = threading.Event()
Report = Callable[[str], None]


class Access(Protocol):
    """How to ask one server: the headers to send, and the answer to its ``401`` challenge."""

    def headers(self) -> Mapping[str, str]:
        """Headers for the next request (Accept, Authorization)."""

    def challenge(self, resp: requests.Response) -> bool:
        """Answer the ``WWW-Authenticate`` of a 401 (fetch a token); True: ask again."""


def rewrites(env: Mapping[str, str] | None = None) -> list[tuple[str, str]]:
    """``KFDEPLOY_URL_REWRITE``: ``PREFIX=REPLACEMENT`` pairs separated by spaces, commas or lines."""
    raw = (os.environ if env is None else env).get(ENV_REWRITE, "")
    pairs = []
    for item in raw.replace(",", " ").split():
        prefix, sep, replacement = item.partition("=")
        if not sep or not prefix or not replacement.startswith("https://"):
            raise RenderError(f"{ENV_REWRITE}: {item!r} is not PREFIX=https://REPLACEMENT",
                              hint=f"e.g. {ENV_REWRITE}='https://github.com/=https://artifacts.corp/github/'")
        pairs.append((prefix, replacement))
    return pairs


def rewrite(url: str, env: Mapping[str, str] | None = None) -> str:
    """``url`` sent to the artifact proxy: the longest matching prefix wins (as git's insteadOf)."""
    matches = [(p, r) for p, r in rewrites(env) if url.startswith(p)]
    if not matches:
        return url
    prefix, replacement = max(matches, key=lambda m: len(m[0]))
    return replacement + url[len(prefix):]


def ca_bundle(env: Mapping[str, str] | None = None) -> str | bool:
    """requests reads REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE itself; SSL_CERT_FILE is honoured here."""
    env = os.environ if env is None else env
    if env.get("REQUESTS_CA_BUNDLE") or env.get("CURL_CA_BUNDLE"):
        return True
    return env.get("SSL_CERT_FILE") or True


def interrupt(signum: int, frame: FrameType | None) -> None:
    """SIGINT: stop every download at its next block, then interrupt as usual."""
    CANCEL.set()
    raise KeyboardInterrupt


def install_interrupt() -> None:
    """Make Ctrl-C reach downloads running in worker threads (call from the main thread)."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, interrupt)


def failure(who: str, url: str, why: str, hint: str) -> FetchError:
    return FetchError(f"{who}: cannot download {url}: {why}", hint=hint)


def open_https(session: requests.Session, url: str, who: str, hint: str,
               headers: Mapping[str, str] | None = None) -> requests.Response:
    """GET ``url``, following redirects by hand so that none leads to plain http; ``headers``
    go along, but ``Authorization`` only to ``url``'s own host (blob storage gets none)."""
    headers = dict(headers or {})
    for _ in range(MAX_REDIRECTS + 1):
        if not url.lower().startswith("https://"):
            raise failure(who, url, "kfdeploy downloads over https only", hint)
        resp = session.get(url, stream=True, timeout=(CONNECT_TIMEOUT, READ_TIMEOUT), headers=headers,
                           allow_redirects=False, verify=ca_bundle())
        if not resp.is_redirect:
            return resp
        target = urljoin(url, resp.headers.get("Location", ""))
        resp.close()
        if not target.lower().startswith("https://"):
            raise failure(who, url, f"it redirects to {target}, which is not https; refused", hint)
        if urlsplit(target).netloc != urlsplit(url).netloc:
            headers = {k: v for k, v in headers.items() if k.lower() != "authorization"}
        url = target
    raise failure(who, url, f"more than {MAX_REDIRECTS} redirects", hint)


def download(url: str, dest: Path, who: str, report: Report, hint: str, access: Access | None = None) -> str:
    """Stream ``url`` (rewritten for an artifact proxy) into ``dest``; return its sha256.

    Bounded by ``limits`` (size, and a deadline for the whole download), ended by Ctrl-C.
    ``access`` gives the headers to send and answers a 401 challenge once."""
    if offline():
        raise FetchError(f"{who}: {url} is not in the cache and kfdeploy is offline ({ENV_OFFLINE} / --offline)",
                          hint=hint)
    source = rewrite(url)
    max_bytes = limits.value(limits.DOWNLOAD_MB) * 1_000_000
    deadline = time.monotonic() + limits.value(limits.DOWNLOAD_SECONDS)
    h = hashlib.sha256()
    try:
        with requests.Session() as session, ask(session, source, who, hint, access) as resp:
            if resp.status_code != 200:
                raise failure(who, source, f"HTTP {resp.status_code} {resp.reason}", hint)
            total = int(resp.headers.get("Content-Length") or 0)
            if total > max_bytes:
                raise failure(who, source, limits.exceeded(limits.DOWNLOAD_MB, f"its size ({mb(total)})"), hint)
            report(f"{who}: downloading {source}" + (f" ({mb(total)})" if total else ""))
            done = 0
            with dest.open("wb") as out, watchdog(resp, deadline):
                while block := resp.raw.read1(BLOCK, decode_content=True):
                    done += len(block)
                    check_bounds(who, source, done, max_bytes, deadline, hint)
                    out.write(block)
                    h.update(block)
            check_bounds(who, source, done, max_bytes, deadline, hint)  # cut short by the watchdog?
    except requests.RequestException as e:
        check_bounds(who, source, 0, max_bytes, deadline, hint)
        raise failure(who, source, reason(e), hint) from e
    except (TimeoutError, OSError, urllib3.exceptions.HTTPError) as e:  # read errors urllib3 raises unwrapped
        check_bounds(who, source, 0, max_bytes, deadline, hint)
        raise failure(who, source, f"the connection broke ({e})", hint) from e
    return h.hexdigest()


def ask(session: requests.Session, url: str, who: str, hint: str, access: Access | None) -> requests.Response:
    """GET ``url`` with ``access``'s headers; once more after it answered a 401 challenge."""
    resp = open_https(session, url, who, hint, access.headers() if access else None)
    if resp.status_code == 401 and access is not None and access.challenge(resp):
        resp.close()
        resp = open_https(session, url, who, hint, access.headers())
    return resp


@contextlib.contextmanager
def watchdog(resp: requests.Response, deadline: float) -> Iterator[None]:
    """Shut the connection down at the deadline or on Ctrl-C, so a read blocked on a silent
    server ends at once rather than after the read timeout."""
    done = threading.Event()

    def watch() -> None:
        while not done.wait(0.2):
            if CANCEL.is_set() or time.monotonic() > deadline:
                sock = socket_of(resp)
                if sock is not None:
                    with contextlib.suppress(OSError):
                        sock.shutdown(socket.SHUT_RDWR)
                return

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()


def socket_of(resp: requests.Response) -> socket.socket | None:
    """The socket a streamed response reads from: its connection's, or (once http.client has
    let go of a connection that closes after the response) the one under the response's file."""
    sock = getattr(getattr(resp.raw, "connection", None), "sock", None)
    if sock is None:  # http.client's response -> socket file -> SocketIO -> socket
        sock = getattr(getattr(getattr(getattr(resp.raw, "_fp", None), "fp", None), "raw", None), "_sock", None)
    return sock if isinstance(sock, socket.socket) else None


def check_bounds(who: str, url: str, done: int, max_bytes: int, deadline: float, hint: str) -> None:
    if CANCEL.is_set():
        raise KeyboardInterrupt
    if done > max_bytes:
        raise failure(who, url, limits.exceeded(limits.DOWNLOAD_MB, "the download"), hint)
    if time.monotonic() > deadline:
        raise failure(who, url, limits.exceeded(limits.DOWNLOAD_SECONDS, "the download's time"), hint)


def reason(e: requests.RequestException) -> str:
    if isinstance(e, requests.exceptions.SSLError):
        return ("TLS verification failed (set REQUESTS_CA_BUNDLE to your CA bundle if a proxy or "
                "private CA signs it)")
    if isinstance(e, requests.exceptions.ProxyError):
        return "the proxy refused or is unreachable (check HTTPS_PROXY / NO_PROXY)"
    if isinstance(e, requests.Timeout):
        return f"no answer within {READ_TIMEOUT:.0f} s"
    if isinstance(e, requests.ConnectionError):
        return "cannot connect (offline, DNS or proxy problem)"
    return type(e).__name__


def mb(n: int) -> str:
    return f"{n / 1e6:.1f} MB"


def sweep(folder: Path, prefixes: tuple[str, ...] = (".download-", ".extract-")) -> None:
    """Remove temporaries that killed runs left in ``folder``: those of a process that is gone
    (their names carry the pid), or older than a day."""
    try:
        children = list(folder.iterdir()) if folder.is_dir() else []
    except OSError:
        return
    for child in children:
        if child.name.startswith(prefixes) and stale(child):
            shutil.rmtree(child, ignore_errors=True)


def temp_prefix(kind: str) -> str:
    """``.download-<pid>-``: the name tells ``sweep`` whose temporary it is."""
    return f".{kind}-{os.getpid()}-"


def stale(path: Path) -> bool:
    parts = path.name.split("-")
    if len(parts) >= 3 and parts[1].isdigit():
        pid = int(parts[1])
        if pid == os.getpid():
            return False
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            return False
        return False
    try:
        return time.time() - path.stat().st_mtime > 86400
    except OSError:
        return False


def stderr_report(text: str) -> None:
    print(f"kfdeploy: {text}", file=sys.stderr, flush=True)
