"""Shared test configuration. Kept light: unit tests must start fast, so anything that needs
the local control plane lives in tests/cluster/conftest.py and is marked ``cluster``
(deselect with ``-m 'not cluster'``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from kfdeploy import scrub


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
