"""Downloads and archives are bounded, each limit named with the setting that raises it; Ctrl-C
ends a download and leaves nothing behind; temporaries of killed runs are swept. Served through
the loopback proxy like every download test."""

# ruff: noqa: F401, F811 (the network fixture is imported from fakes.https_proxy, used as a parameter)
from __future__ import annotations

import gzip
import io
import os
import subprocess
import sys
import tarfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fakes.https_proxy import Network, network

from kfdeploy.errors import RenderError, UsageError
from kfdeploy.render import fetch
from kfdeploy.render.repos import RepoResolver
from kfdeploy.spec import Repo

URL = "https://github.com/example-org/big/archive/v1.tar.gz"


def resolver(net: Network) -> RepoResolver:
    return RepoResolver(net.cache.parent, net.cache, report=lambda _: None)


def fetch_repo(net: Network, url: str = URL) -> Path:
    return resolver(net).root(Repo(name="big", uri=url))


def leftovers(cache: Path) -> list[str]:
    return [p.name for p in cache.rglob(".*") if p.name.startswith((".download-", ".extract-"))] \
        if cache.exists() else []


def tar_of(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(f"big-1/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


@pytest.fixture(autouse=True)
def no_cancel() -> Iterator[None]:
    fetch.CANCEL.clear()
    yield
    fetch.CANCEL.clear()


def test_a_download_over_the_size_limit_names_the_setting(network: Network, monkeypatch: pytest.MonkeyPatch) -> None:
    network.origin.add(URL, os.urandom(1_500_000))
    monkeypatch.setenv("KFDEPLOY_MAX_DOWNLOAD_MB", "1")
    with pytest.raises(RenderError) as err:
        fetch_repo(network)
    assert URL in err.value.message and "KFDEPLOY_MAX_DOWNLOAD_MB" in err.value.message
    assert leftovers(network.cache) == []


def endless(handler: Any) -> None:
    """A server that never stops sending and says nothing of the length."""
    handler.send_response(200)
    handler.end_headers()
    try:
        while True:
            handler.wfile.write(b"\0" * 65536)
    except OSError:
        pass


def test_an_endless_body_stops_at_the_size_limit(network: Network, monkeypatch: pytest.MonkeyPatch) -> None:
    network.origin.handle(URL, endless)
    monkeypatch.setenv("KFDEPLOY_MAX_DOWNLOAD_MB", "2")
    with pytest.raises(RenderError, match="KFDEPLOY_MAX_DOWNLOAD_MB"):
        fetch_repo(network)
    assert leftovers(network.cache) == []


def test_a_trickling_server_meets_the_overall_deadline(network: Network, monkeypatch: pytest.MonkeyPatch) -> None:
    stop = threading.Event()

    def trickle(handler: Any) -> None:
        handler.send_response(200)
        handler.send_header("Content-Length", "1000")
        handler.end_headers()
        while not stop.wait(0.3):  # a byte at a time: each read succeeds, the whole never ends
            handler.wfile.write(b"x")
            handler.wfile.flush()

    network.origin.handle(URL, trickle)
    monkeypatch.setenv("KFDEPLOY_DOWNLOAD_TIMEOUT", "1")
    try:
        with pytest.raises(RenderError) as err:
            fetch_repo(network)
    finally:
        stop.set()
    assert "KFDEPLOY_DOWNLOAD_TIMEOUT" in err.value.message and URL in err.value.message


def test_ctrl_c_ends_a_download_and_cleans_up(network: Network) -> None:
    def interrupted(handler: Any) -> None:
        handler.send_response(200)
        handler.end_headers()
        handler.wfile.write(b"\0" * 65536)
        handler.wfile.flush()
        fetch.CANCEL.set()  # what the SIGINT handler does
        try:
            while True:
                handler.wfile.write(b"\0" * 65536)
        except OSError:
            pass

    network.origin.handle(URL, interrupted)
    with pytest.raises(KeyboardInterrupt):
        fetch_repo(network)
    assert leftovers(network.cache) == []


def test_sigint_handler_sets_cancel_and_interrupts() -> None:
    code = ("import signal, os\nfrom kfdeploy.render import fetch\nfetch.install_interrupt()\n"
            "try:\n    os.kill(os.getpid(), signal.SIGINT)\nexcept KeyboardInterrupt:\n"
            "    print('cancel' if fetch.CANCEL.is_set() else 'no-cancel')\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False)
    assert done.stdout.strip() == "cancel"


@pytest.mark.parametrize("files, env, words", [
    ({"zeros.bin": b"\0" * 30_000_000}, {"KFDEPLOY_MAX_ARCHIVE_RATIO": "10"}, "KFDEPLOY_MAX_ARCHIVE_RATIO"),
    ({"zeros.bin": b"\0" * 3_000_000}, {"KFDEPLOY_MAX_EXTRACT_MB": "2"}, "KFDEPLOY_MAX_EXTRACT_MB"),
    ({f"f{i}.yaml": b"" for i in range(50)}, {"KFDEPLOY_MAX_ARCHIVE_ENTRIES": "20"}, "KFDEPLOY_MAX_ARCHIVE_ENTRIES"),
], ids=["ratio-bomb", "total-size", "entries"])
def test_archives_over_the_bounds_are_refused_before_extraction(network: Network, monkeypatch: pytest.MonkeyPatch,
                                                                files: dict[str, bytes], env: dict[str, str],
                                                                words: str) -> None:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    network.origin.add(URL, tar_of(files))
    with pytest.raises(RenderError) as err:
        fetch_repo(network)
    assert words in err.value.message and URL in err.value.message
    assert not (network.cache / "sha256").exists() or not any((network.cache / "sha256").iterdir())


def test_a_bad_limit_setting_is_named_and_nothing_is_fetched(network: Network,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    network.origin.add(URL, tar_of({"a.yaml": b"a: 1\n"}))
    monkeypatch.setenv("KFDEPLOY_MAX_DOWNLOAD_MB", "lots")
    with pytest.raises(UsageError, match="KFDEPLOY_MAX_DOWNLOAD_MB='lots'.* from 1 to "):
        fetch_repo(network)
    assert leftovers(network.cache) == [] and not (network.cache / "sha256").exists()


def test_temporaries_of_killed_runs_are_swept_and_live_ones_kept(network: Network) -> None:
    network.origin.add(URL, tar_of({"a.yaml": b"a: 1\n"}))
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True, check=True).stdout.strip()
    (network.cache / "sha256").mkdir(parents=True)
    dead = [network.cache / f".download-{gone}-abc", network.cache / "sha256" / f".extract-{gone}-def"]
    alive = network.cache / f".download-{os.getppid()}-xyz"  # a running process's (pytest's parent)
    for folder in [*dead, alive]:
        (folder / "part").mkdir(parents=True)
    fetch_repo(network)
    assert [d.exists() for d in dead] == [False, False] and alive.exists()


def test_a_gzip_that_is_no_tar_is_a_clear_error(network: Network) -> None:
    network.origin.add(URL, gzip.compress(b"not a tar"))
    with pytest.raises(RenderError, match="not a readable archive"):
        fetch_repo(network)


@pytest.mark.parametrize("how", ["deadline", "ctrl-c"])
def test_a_silent_server_is_cut_off_at_the_deadline_or_ctrl_c_not_at_the_read_timeout(
        network: Network, monkeypatch: pytest.MonkeyPatch, how: str) -> None:
    release, server_done = threading.Event(), threading.Event()

    def silent(handler: Any) -> None:
        handler.send_response(200)
        handler.send_header("Content-Length", "1000")
        handler.end_headers()
        handler.wfile.write(b"x")
        handler.wfile.flush()
        if how == "ctrl-c":
            threading.Timer(0.5, fetch.CANCEL.set).start()
        release.wait(30)  # then nothing more; the server hangs up only after this
        server_done.set()

    network.origin.handle(URL, silent)
    monkeypatch.setattr(fetch, "READ_TIMEOUT", 1000.0)  # the read timeout cannot be what ends it
    monkeypatch.setenv("KFDEPLOY_DOWNLOAD_TIMEOUT", "1" if how == "deadline" else "600")
    try:
        with pytest.raises(RenderError if how == "deadline" else KeyboardInterrupt) as err:
            fetch_repo(network)
        assert not server_done.is_set()  # kfdeploy hung up first: the watchdog cut the blocked read
    finally:
        release.set()
    if how == "deadline":
        assert "KFDEPLOY_DOWNLOAD_TIMEOUT" in str(err.value)
    assert leftovers(network.cache) == []
