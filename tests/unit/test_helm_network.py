"""helm runs with the network closed for a local chart, as kustomize does; a chart repository's
URL goes through KFDEPLOY_URL_REWRITE. A stub helm records what it was given."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from test_render import make_spec, write_library

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
    monkeypatch.setenv("KFDEPLOY_HELM", str(stub))
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.corp.example:3128")
    return write_library(tmp_path / "lib", {"unused": []})


def data_of(spec_helm: dict[str, object], lib: Library) -> dict[str, str]:
    spec = make_spec({"applications": [{"name": "chart", "helm": spec_helm}]})
    objects = render(spec, lib).applications[0].objects
    return next(o["data"] for o in objects if o["kind"] == "ConfigMap")


def test_a_local_chart_renders_with_every_proxy_closed(seen: Library) -> None:
    data = data_of({"chart": "charts/tiny"}, seen)
    assert data["proxy"].startswith("http://127.0.0.1:") and data["no_proxy"] == ""


def test_a_repository_chart_keeps_the_users_proxy_and_its_url_is_rewritten(
        seen: Library, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KFDEPLOY_URL_REWRITE", "https://charts.example.org/=https://artifacts.corp.example/charts/")
    data = data_of({"chart": "tiny", "repo": "https://charts.example.org/stable", "version": "1.0.0"}, seen)
    args = json.loads(data["args"])
    assert args[args.index("--repo") + 1] == "https://artifacts.corp.example/charts/stable"
    assert data["proxy"] == "http://proxy.corp.example:3128"
