"""kfdeploy ui's server with Starlette's TestClient: the token on every request, POSTs only from
the page itself, the editor's validation is `validate`'s, saving and the form keep the spec whole,
and a delete needs the typed KfDef name."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

pytest.importorskip("starlette")
from starlette.testclient import TestClient  # noqa: E402

from kfdeploy.cli import cli  # noqa: E402
from kfdeploy.options import Options  # noqa: E402
from kfdeploy.ui import apply_form, create_app, form_of  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
ORIGIN = "http://testserver"


@pytest.fixture()
def spec(tmp_path: Path) -> Path:
    path = tmp_path / "kfdef.yaml"
    path.write_text((REPO / "kfdef.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    return path


@pytest.fixture()
def page(spec: Path) -> tuple[TestClient, str]:
    app, ui = create_app(Options(file=str(spec)))
    return TestClient(app), ui.token


def post(client: TestClient, token: str, path: str, body: dict[str, Any]) -> Any:
    return client.post(path, json=body, headers={"X-Kfdeploy-Token": token, "Origin": ORIGIN})


@pytest.mark.parametrize("path", ["/", "/static/ui.js", "/api/spec", "/api/catalog", "/api/status",
                                  "/api/events"])
def test_every_get_without_the_token_is_refused(page: tuple[TestClient, str], path: str) -> None:
    client, token = page
    assert client.get(path).status_code == 401
    assert client.get(path, params={"token": token[:-1] + ("x" if token[-1] != "x" else "y")}).status_code == 401
    assert client.get(path, params={"token": token}).status_code != 401


@pytest.mark.parametrize("path", ["/api/validate", "/api/save", "/api/plan", "/api/apply", "/api/delete",
                                  "/api/credentials", "/api/form"])
def test_posts_need_the_header_and_the_pages_own_origin(page: tuple[TestClient, str], path: str) -> None:
    client, token = page
    assert client.post(path, json={}).status_code == 401
    # A cross-site form or fetch: the browser sends the cookie, but cannot add the header...
    client.cookies.set("kfdeploy_ui", token)
    assert client.post(path, json={}, headers={"Origin": ORIGIN}).status_code == 403
    # ...and a page elsewhere that learnt the token still has a foreign Origin, or none at all.
    for headers in ({"Origin": "http://evil.example"}, {"Referer": "http://evil.example/x"},
                    {"Origin": "http://testserver.evil.example"}, {}):
        refused = client.post(path, json={}, headers={"X-Kfdeploy-Token": token, **headers})
        assert refused.status_code == 403, headers
        assert "cross-site" in refused.json()["error"]


def test_the_token_url_sets_a_strict_cookie_and_the_page_is_locked_down(page: tuple[TestClient, str]) -> None:
    client, token = page
    first = client.get("/", params={"token": token})
    assert first.status_code == 200 and 'src="/static/ui.js"' in first.text
    cookie = first.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    assert "default-src 'self'" in first.headers["content-security-policy"]
    assert first.headers["referrer-policy"] == "same-origin"
    assert "<script>" not in first.text  # no inline script: the CSP forbids it
    assert client.get("/api/spec").status_code == 200  # the cookie now
    assert client.get("/static/../__init__.py").status_code in (401, 404)


def cli_validate(path: Path) -> dict[str, Any]:
    result = CliRunner().invoke(cli, ["validate", "-f", str(path), "-o", "json"])
    return dict(json.loads(result.stdout))


def test_live_validation_gives_validates_problems_and_field_paths(page: tuple[TestClient, str],
                                                                  spec: Path, tmp_path: Path) -> None:
    client, token = page
    good = spec.read_text(encoding="utf-8")
    bad = good.replace("name: kubeflow ", "name: Bad_Name ", 1).replace("count: 3", "count: -1", 1)
    assert bad != good
    shown = post(client, token, "/api/validate", {"text": bad}).json()
    saved = tmp_path / "copy" / "kfdef.yaml"
    saved.parent.mkdir()
    saved.write_text(bad, encoding="utf-8")
    expected = cli_validate(saved)["problems"]
    assert not shown["valid"] and len(expected) >= 2
    assert [p.replace(str(saved), "F") for p in shown["problems"]] == \
        [p.replace(str(saved), "F") for p in expected]
    assert any("metadata.name" in p for p in shown["problems"])
    fixed = post(client, token, "/api/validate", {"text": good}).json()
    assert fixed["valid"] and "problems" not in fixed


def test_save_writes_only_a_valid_spec(page: tuple[TestClient, str], spec: Path) -> None:
    client, token = page
    before = spec.read_text(encoding="utf-8")
    refused = post(client, token, "/api/save", {"text": "apiVersion: nope\n"}).json()
    assert refused["saved"] is False and spec.read_text(encoding="utf-8") == before
    changed = before.replace("count: 3", "count: 2", 1)
    assert post(client, token, "/api/save", {"text": changed}).json()["saved"] is True
    assert spec.read_text(encoding="utf-8") == changed


def test_the_form_writes_its_fields_and_keeps_the_rest(spec: Path) -> None:
    text = spec.read_text(encoding="utf-8")
    form = form_of(text)
    assert form is not None and form["name"] == "kubeflow" and form["platform"] == "kwok"
    names = [a["name"] for a in form["applications"]]
    form["name"] = "demo"
    form["applications"] = [{"name": names[0], "enabled": False, "params": {}, "known": []},
                            {"name": "istio", "enabled": True, "params": {"gatewayType": "NodePort"},
                             "known": ["gatewayType"]}]
    out = yaml.safe_load(apply_form(text, form))
    before = yaml.safe_load(text)
    assert out["metadata"] == {**before["metadata"], "name": "demo"}
    apps = {a["name"]: a for a in out["spec"]["applications"]}
    assert apps[names[0]]["enabled"] is False
    assert apps["istio"]["params"] == {"gatewayType": "NodePort"}
    assert [a["name"] for a in out["spec"]["applications"]] == names  # nothing lost, order kept
    assert out["spec"]["platform"] == before["spec"]["platform"]


def test_catalog_lists_the_components_and_platforms(page: tuple[TestClient, str]) -> None:
    client, token = page
    data = client.get("/api/catalog", params={"token": token}).json()
    result = CliRunner().invoke(cli, ["components", "-o", "json"])
    assert data["components"] == json.loads(result.stdout)
    assert "kwok" in data["platforms"] and "gke" in data["platforms"]


def test_delete_needs_the_typed_kfdef_name(page: tuple[TestClient, str]) -> None:
    client, token = page
    for typed in ("", "kubeflo", "KUBEFLOW"):
        refused = post(client, token, "/api/delete", {"confirm": typed})
        assert refused.status_code == 400 and "type the KfDef name 'kubeflow'" in refused.json()["error"]


def test_graph_is_the_dependency_order(page: tuple[TestClient, str]) -> None:
    client, token = page
    graph = client.get("/api/graph", params={"token": token}).json()
    position = {n: i for i, n in enumerate(graph["nodes"])}
    assert graph["edges"] and all(position[d] < position[a] for a, d in graph["edges"])


def test_ui_help_teaches() -> None:
    result = CliRunner().invoke(cli, ["ui", "--help"])
    assert result.exit_code == 0
    for words in ("--no-browser", "--port", "127.0.0.1", "token", "kfdeploy ui -f kfdef.yaml"):
        assert words in result.stdout
