"""The integration tier: one real local control plane (kwok platform) per test session.

``cluster`` builds the tools when missing (``tools/build.sh`` is a cached no-op once built),
creates or reuses the kwok cluster ``kfdeploy-test`` and, if this session created it, deletes
it at the end (``KFDEPLOY_KEEP_TEST_CLUSTER=1`` keeps it for debugging; a reused one is kept
because another session may be using it). ``namespace`` gives each test a fresh
namespace. Every test under this folder is marked ``cluster``.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest
from kubernetes import client, config

from kfdeploy.errors import ToolMissingError
from kfdeploy.platforms import ClusterInfo
from kfdeploy.platforms.kwok import KwokPlatform
from kfdeploy.platforms.kwokctl import BINARY_OPTIONS
from kfdeploy.spec import KfDef, parse_spec
from kfdeploy.tools import find_tool

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
# Parallel checkouts on one machine set their own name so their clusters do not collide.
CLUSTER_NAME = os.environ.get("KFDEPLOY_TEST_CLUSTER", "kfdeploy-test")
T = TypeVar("T")

TEST_POOLS = [
    {"name": "cpu", "count": 2, "cpu": "16", "memory": "64Gi"},
    {"name": "gpu", "count": 1, "cpu": "8", "memory": "61Gi", "gpus": 4,
     "taints": [{"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"}]},
]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in item.path.parents:
            item.add_marker(pytest.mark.cluster)


def api_client(kubeconfig: Path, context: str | None = None) -> client.ApiClient:
    """The tests' own observer: the kubernetes package's typed client, independent of the
    cluster client kfdeploy itself uses."""
    cfg = client.Configuration()
    config.load_kube_config(config_file=str(kubeconfig), context=context, client_configuration=cfg,
                            persist_config=False)
    return client.ApiClient(cfg)


def kwok_spec_data(name: str, pools: list[dict[str, Any]]) -> dict[str, Any]:
    """A minimal KfDef for the kwok platform (also written to files by CLI tests)."""
    return {"apiVersion": "kfdef.apps.kubeflow.org/v1", "kind": "KfDef",
            "metadata": {"name": name},
            "spec": {"platform": {"kind": "kwok", "kwok": {"nodePools": pools}}}}


def eventually(fetch: Callable[[], T], done: Callable[[T], bool], what: str,
               timeout: float = 60) -> T:
    """Poll ``fetch`` until ``done`` holds; fail naming ``what`` and the last value seen."""
    deadline = time.monotonic() + timeout
    while True:
        value = fetch()
        if done(value):
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"{what} did not happen within {timeout:.0f}s; last seen: {value!r}")
        time.sleep(0.5)


@pytest.fixture(scope="session")
def tools() -> None:
    """Build the local control-plane tools unless every one is already there."""
    try:
        for tool in (*BINARY_OPTIONS, "kwokctl"):
            find_tool(tool)
        return
    except ToolMissingError:
        pass
    done = subprocess.run(["bash", str(REPO / "tools" / "build.sh")], cwd=REPO, check=False)
    if done.returncode != 0:
        pytest.fail("tools/build.sh failed; cluster tests need the local control plane "
                    "(see its output above, or set KFDEPLOY_TOOLS_DIR)")


@dataclass
class SharedCluster:
    """The shared test cluster: its kubeconfig, an ApiClient, and what ensure_cluster said."""

    spec: KfDef
    info: ClusterInfo
    api: client.ApiClient

    @property
    def kubeconfig(self) -> Path:
        return self.info.kubeconfig

    @property
    def context(self) -> str:
        return self.info.context


@pytest.fixture(scope="session")
def cluster(tools: None) -> Iterator[SharedCluster]:
    spec = parse_spec(kwok_spec_data(CLUSTER_NAME, TEST_POOLS), "test-kfdef.yaml", REPO)
    platform = KwokPlatform()
    info = platform.ensure_cluster(spec, progress=lambda line: print(f"[cluster] {line}"))
    api = api_client(info.kubeconfig, info.context)
    try:
        yield SharedCluster(spec=spec, info=info, api=api)
    finally:
        api.close()
        # A cluster this session found running may serve another session; leave it.
        if info.created and os.environ.get("KFDEPLOY_KEEP_TEST_CLUSTER") != "1":
            platform.delete_cluster(spec)


@pytest.fixture()
def namespace(cluster: SharedCluster, request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh namespace named after the test, deleted (without waiting) afterwards."""
    stem = re.sub(r"[^a-z0-9-]+", "-", request.node.name.lower()).strip("-")[:40].strip("-")
    name = f"t-{stem}-{uuid.uuid4().hex[:5]}"
    core = client.CoreV1Api(cluster.api)
    core.create_namespace({"metadata": {"name": name, "labels": {"kfdeploy.io/test": "true"}}})
    try:
        yield name
    finally:
        core.delete_namespace(name)


def cli_invoke(*args: str) -> tuple[int, str, str]:
    """The one way cluster tests run the kfdeploy CLI (in-process): (exit code, stdout, stderr).
    A crash (anything but the CLI's own exit) is raised, so a test never mistakes it for an exit
    code."""
    from click.testing import CliRunner

    from kfdeploy.cli import cli
    result = CliRunner().invoke(cli, list(args))
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def cli_run(cluster: SharedCluster, *args: str) -> tuple[int, str, str]:
    """``cli_invoke`` against the shared cluster."""
    return cli_invoke(*args, "--kubeconfig", str(cluster.kubeconfig))


def cli_json(cluster: SharedCluster, *args: str) -> tuple[int, Any, str]:
    """``cli_run`` with ``-o json``: (exit code, parsed stdout or None, stderr)."""
    code, out, err = cli_run(cluster, *args, "-o", "json")
    try:
        return code, json.loads(out) if out.strip() else None, err
    except ValueError:
        return code, None, err


@pytest.fixture(scope="module")
def flux(cluster: SharedCluster, tmp_path_factory: pytest.TempPathFactory,
         request: pytest.FixtureRequest) -> Iterator[Any]:
    """Flux's source-controller and kustomize-controller on the shared cluster, reading an empty
    Git repository on loopback (tests/fakes/flux.py). Opt-in: ``-m flux``."""
    from kfdeploy.kube.client import Cluster
    from tests.fakes import flux as fluxfake
    if not fluxfake.built():
        pytest.skip(f"Flux's controllers are not built in {fluxfake.flux_dir()}: run `make tools-flux`")
    if "flux" not in str(request.config.getoption("markexpr") or ""):
        pytest.skip("opt-in: run with -m flux (it reconciles exports through a real Flux)")
    kube = Cluster.connect(cluster.kubeconfig, cluster.context)
    with fluxfake.running(kube, cluster.kubeconfig, tmp_path_factory.mktemp("flux")) as running:
        yield running
