"""Throttling for real: a kwok cluster whose kube-apiserver enforces small request limits
(``spec.platform.kwok.apiServerArgs``) answers 429 to kfdeploy's parallel applies. The default
platform and 1,000 synthetic objects still apply healthy, and apply counts what it repeated.

kfdeploy talks to it as a cluster-admin ServiceAccount: kwokctl's own kubeconfig is in
system:masters, which the limits exempt (so the controllers run unthrottled, as on a real cluster
where the limits protect the server from its clients)."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from kfdeploy.cli import cli
from kfdeploy.platforms.kwok import KwokPlatform, service_account_kubeconfig
from kfdeploy.spec import load_spec

from .conftest import CLUSTER_NAME, REPO

sys.path.insert(0, str(REPO / "bench"))
import synth  # noqa: E402 - the benchmarks' generator of synthetic applications

LIMITS = {"enable-priority-and-fairness": "false", "max-requests-inflight": "4",
          "max-mutating-requests-inflight": "1"}
SYNTHETIC = 1000


def throttled_spec(folder: Path, pods: int) -> Path:
    """The repository's kfdef.yaml on its own cluster with request limits on, and room for
    ``pods`` more (110 per node)."""
    data = yaml.safe_load((REPO / "kfdef.yaml").read_text())
    data["metadata"]["name"] = f"{CLUSTER_NAME}-429"[:40]
    kwok = data["spec"]["platform"]["kwok"]
    kwok["apiServerArgs"] = LIMITS
    kwok["nodePools"].append({"name": "bulk", "count": pods // 100 + 1, "cpu": "64", "memory": "256Gi"})
    path = folder / "kfdef.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


@dataclass
class Throttled:
    default: Path  # the default platform's spec, naming the throttled cluster
    synthetic: Path  # SYNTHETIC objects (bench/synth.py)
    kubeconfig: Path  # an identity the limits apply to


@pytest.fixture(scope="module")
def throttled(tools: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Throttled]:
    folder = tmp_path_factory.mktemp("throttled")
    synthetic = synth.generate(SYNTHETIC, folder / "synthetic", "synthetic")
    pods = synth.pods([o for f in (folder / "synthetic").glob("*/objects.json") for o in json.loads(f.read_text())])
    spec_path = throttled_spec(folder, pods)
    spec, platform = load_spec(spec_path), KwokPlatform()
    platform.ensure_cluster(spec, progress=lambda line: print(f"[throttled] {line}"))
    try:
        yield Throttled(spec_path, synthetic, service_account_kubeconfig(spec))
    finally:
        platform.delete_cluster(spec)


def apply(spec: Path, kubeconfig: Path) -> dict[str, Any]:
    result = CliRunner().invoke(cli, ["apply", "-f", str(spec), "--yes", "-o", "json", "--kubeconfig", str(kubeconfig)])
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    assert result.exit_code == 0, result.stderr[-3000:]
    out: dict[str, Any] = json.loads(result.stdout)
    return out


def test_the_default_platform_applies_healthy_through_429s(throttled: Throttled):
    out = apply(throttled.default, throttled.kubeconfig)
    assert out["ok"] and {a["outcome"] for a in out["applications"]} <= {"applied", "unchanged"}
    assert out["retries"] > 0, "the limits never throttled the apply: nothing was tested"
    assert out["retries"] < out["requests"]


def test_a_thousand_objects_apply_healthy_through_429s(throttled: Throttled):
    out = apply(throttled.synthetic, throttled.kubeconfig)
    assert out["ok"] and {a["outcome"] for a in out["applications"]} <= {"applied", "unchanged"}
    assert sum(a["created"] for a in out["applications"]) >= SYNTHETIC
    assert out["retries"] > 0
