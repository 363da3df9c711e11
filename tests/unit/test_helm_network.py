"""helm runs with the network closed, as kustomize does: a chart from a chart repository is
fetched by kfdeploy (index, then archive, through KFDEPLOY_URL_REWRITE and the loopback proxy),
pinned, and rendered from the local file. A stub helm records what it was given."""

# ruff: noqa: F401, F811 (the network fixture is imported from fakes.https_proxy, used as a parameter)
from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from fakes.https_proxy import Network, network
from test_render import make_spec, write_library

from kfdeploy.errors import RenderError
from kfdeploy.library import Library
from kfdeploy.render import render

STUB = """#!{python}
import json, os, sys
print(json.dumps({{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {{"name": "seen"}},
                  "data": {{"args": json.dumps(sys.argv[1:]), "proxy": os.environ.get("HTTPS_PROXY", ""),
                           "no_proxy": os.environ.get("NO_PROXY", "unset")}}}}))
"""


@pytest.fixture
def seen(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Library:
    stub = tmp_path / "helm"
    stub.write_text(STUB.format(python=sys.executable))
    stub.chmod(0o755)
    monkeypatch.setenv("KFDEPLOY_HELM_BINARY", str(stub))
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.corp.example:3128")
    return write_library(tmp_path / "lib", {"unused": []})


def data_of(spec_helm: dict[str, object], lib: Library, base: Path | None = None) -> dict[str, str]:
    spec = make_spec({"applications": [{"name": "chart", "helm": spec_helm}]}, *([base] if base else []))
    objects = render(spec, lib).applications[0].objects
    return next(o["data"] for o in objects if o["kind"] == "ConfigMap")


def test_a_local_chart_renders_with_every_proxy_closed(seen: Library) -> None:
    data = data_of({"chart": "charts/tiny"}, seen)
    assert data["proxy"].startswith("http://127.0.0.1:") and data["no_proxy"] == ""


INDEX = """apiVersion: v1
entries:
  tiny:
  - {name: tiny, version: 1.1.0, urls: [tiny-1.1.0.tgz]}
  - {name: tiny, version: 1.0.0, urls: [tiny-1.0.0.tgz]}
"""
CHART_URL = "https://charts.example.org/stable/tiny-1.0.0.tgz"


def test_a_repository_chart_is_fetched_by_kfdeploy_pinned_and_rendered_offline(
        seen: Library, network: Network, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("KFDEPLOY_URL_REWRITE", "https://charts.example.org/=https://artifacts.corp.example/charts/")
    network.origin.add("https://artifacts.corp.example/charts/stable/index.yaml", INDEX.encode())
    network.origin.add("https://artifacts.corp.example/charts/stable/tiny-1.0.0.tgz", b"chart bytes")
    source = {"chart": "tiny", "repo": "https://charts.example.org/stable", "version": "1.0.0"}
    data = data_of(source, seen, tmp_path)
    args = json.loads(data["args"])
    assert args[2].endswith("tiny-1.0.0.tgz") and Path(args[2]).read_bytes() == b"chart bytes"
    assert "--repo" not in args and "--version" not in args
    assert data["proxy"].startswith("http://127.0.0.1:")  # helm renders the local file, network closed
    assert network.origin.requests == ["artifacts.corp.example/charts/stable/index.yaml",
                                       "artifacts.corp.example/charts/stable/tiny-1.0.0.tgz"]
    monkeypatch.setenv("KFDEPLOY_OFFLINE", "1")
    assert json.loads(data_of(source, seen, tmp_path)["args"])[2] == args[2]  # offline: remembered, cached
    assert len(network.origin.requests) == 2
    assert CHART_URL in (tmp_path / "kfdef.lock").read_text()  # pinned under its own URL, not the mirror's


def test_a_chart_version_the_index_lacks_is_named_with_those_offered(
        seen: Library, network: Network, tmp_path: Path) -> None:
    network.origin.add("https://charts.example.org/stable/index.yaml", INDEX.encode())
    with pytest.raises(RenderError) as err:
        data_of({"chart": "tiny", "repo": "https://charts.example.org/stable", "version": "9.9.9"}, seen, tmp_path)
    assert "9.9.9" in err.value.message and "1.1.0, 1.0.0" in err.value.message


def test_a_chart_archive_url_is_fetched_by_kfdeploy_too(seen: Library, network: Network, tmp_path: Path) -> None:
    network.origin.add(CHART_URL, b"chart bytes")
    args = json.loads(data_of({"chart": CHART_URL}, seen, tmp_path)["args"])
    assert Path(args[2]).read_bytes() == b"chart bytes" and network.origin.got(CHART_URL) == 1
