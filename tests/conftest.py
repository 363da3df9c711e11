"""Shared test configuration. Kept light: unit tests must start fast, so anything that needs
the local control plane lives in tests/cluster/conftest.py and is marked ``cluster``
(deselect with ``-m 'not cluster'``)."""

from __future__ import annotations

import pytest


def pytest_report_header(config: pytest.Config) -> str:
    return "cluster tests: tests/cluster (kwok control plane; KFDEPLOY_KEEP_TEST_CLUSTER=1 keeps it)"
