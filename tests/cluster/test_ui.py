"""kfdeploy ui's server against the real local control plane, through Starlette's TestClient:
preflight and plan, apply with its progress streamed, every application Healthy, the login only
when revealed, and the delete; no response before the reveal carries a generated credential."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("starlette")
from starlette.testclient import TestClient  # noqa: E402

from kfdeploy.kube.client import Cluster  # noqa: E402
from kfdeploy.options import Options  # noqa: E402
from kfdeploy.ui import create_app  # noqa: E402

from .test_credentials import stored_values, write_spec  # noqa: E402

ORIGIN = "http://testserver"


def events(body: str) -> list[dict[str, Any]]:
    return [json.loads(line[len("data: "):]) for line in body.splitlines()
            if line.startswith("data: ") and line != "data: {}"]


def test_plan_apply_status_reveal_delete_through_the_page_api(cluster: Any, tmp_path: Path) -> None:
    name = f"ui-{uuid.uuid4().hex[:6]}"
    spec = write_spec(tmp_path, name)
    app, ui = create_app(Options(file=str(spec), kubeconfig=str(cluster.kubeconfig)))
    client = TestClient(app)
    client.get("/", params={"token": ui.token})
    seen: list[str] = []  # every body the page received before the reveal

    def get(path: str) -> Any:
        response = client.get(path)
        seen.append(response.text)
        assert response.status_code == 200, response.text
        return response

    def post(path: str, body: dict[str, Any]) -> Any:
        response = client.post(path, json=body, headers={"X-Kfdeploy-Token": ui.token, "Origin": ORIGIN})
        seen.append(response.text)
        assert response.status_code == 200, response.text
        return response.json()

    get("/api/spec"), get("/api/catalog"), get("/api/graph")
    planned = post("/api/plan", {})
    names = planned["graph"]["nodes"]
    assert planned["plan"]["changes"] and {a["name"] for a in planned["plan"]["applications"]} == set(names)
    assert all(f["status"] != "FAIL" for f in planned["preflight"]["findings"])

    assert post("/api/apply", {}) == {"started": "apply"}
    stream = events(get("/api/events").text)
    done = stream[-1]
    assert done["kind"] == "done" and done["ok"], done["text"]
    final = {e["app"]: e["state"] for e in stream if e["kind"] == "app"}
    assert set(final) == set(names) and set(final.values()) <= {"applied", "unchanged"}
    assert any(e["kind"] == "line" and e["text"].startswith("preflight:") for e in stream)

    health = {c["name"]: c["health"] for c in get("/api/status").json()["components"]}
    assert health == dict.fromkeys(names, "Healthy")

    kube = Cluster.connect(cluster.kubeconfig, cluster.context)
    generated = [v for v in stored_values(kube, name) if len(v) >= 8]
    assert generated
    leaked = [v for v in generated for body in seen if v in body]
    assert not leaked, "a generated credential reached the page before the reveal"
    login = post("/api/credentials", {})
    assert login["password"] in generated

    refused = client.post("/api/delete", json={"confirm": "not-" + name},
                          headers={"X-Kfdeploy-Token": ui.token, "Origin": ORIGIN})
    assert refused.status_code == 400
    assert post("/api/delete", {"confirm": name}) == {"started": "delete"}
    deleted = events(get("/api/events").text)[-1]
    assert deleted["kind"] == "done" and deleted["ok"], deleted["text"]
    assert deleted["result"]["deleted"] > 0
    health = {c["name"]: c["health"] for c in get("/api/status").json()["components"]}
    # What delete keeps (PVCs, the namespaces they hold) can leave an application Degraded.
    assert "Healthy" not in health.values() and "Missing" in health.values()
