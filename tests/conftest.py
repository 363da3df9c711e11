"""Shared test configuration. Kept light: unit tests must start fast, so anything that needs
the local control plane lives in tests/cluster/conftest.py and is marked ``cluster``
(deselect with ``-m 'not cluster'``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from kfdeploy import scrub

if TYPE_CHECKING:
    from fakes.https_proxy import Origin


def pytest_report_header(config: pytest.Config) -> str:
    return "cluster tests: tests/cluster (kwok control plane; KFDEPLOY_KEEP_TEST_CLUSTER=1 keeps it)"


@pytest.fixture(autouse=True, scope="session")
def render_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The session's own render cache, so tests neither read nor fill the user's."""
    path = tmp_path_factory.mktemp("render-cache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("KFDEPLOY_RENDER_CACHE", str(path))
        mp.delenv("KFDEPLOY_NO_CACHE", raising=False)
        yield path


@pytest.fixture(autouse=True)
def _forget_secret_values() -> Iterator[None]:
    """kfdeploy.scrub remembers the secret values of a run for the whole process; in tests each
    test is a run of its own, so one test's values never hide another's output."""
    yield
    scrub.forget_all()


@pytest.fixture
def https_origin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Origin]:
    """A file server at ``https://127.0.0.1:PORT`` serving ``tmp_path/www``, reached directly (no
    proxy), its certificate from a test CA trusted through REQUESTS_CA_BUNDLE."""
    from fakes.https_proxy import LocalCA, Origin  # cryptography: only for the tests that serve

    (tmp_path / "www").mkdir()
    (tmp_path / "ca").mkdir()
    ca = LocalCA(tmp_path / "ca")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(ca.pem))
    for var in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(var, raising=False)
    srv = Origin(ca, tmp_path / "www")
    yield srv
    srv.stop()
