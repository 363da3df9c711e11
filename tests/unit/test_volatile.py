"""Values a helm chart makes anew on every render (render.volatile), with the real helm binary
and charts of our own (tests/fixtures/charts): ``makes-passwords`` makes a database password in
``stringData`` and a root password in base64 ``data`` with ``randAlphaNum``; ``self-signed``
signs its webhook's certificate with ``genCA``; ``uses-lookup`` keeps its password with
``lookup``, which finds nothing under ``helm template``."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from test_render import make_spec

from kfdeploy.credentials import Credentials
from kfdeploy.library import Library
from kfdeploy.render import render
from kfdeploy.render.helm import find_helm
from kfdeploy.tools import ToolMissingError

CHARTS = Path(__file__).resolve().parents[1] / "fixtures" / "charts"


def helm_found() -> bool:
    try:
        find_helm()
    except ToolMissingError:
        return False
    return True


pytestmark = pytest.mark.skipif(not helm_found(), reason="helm is not built yet (run `make tools`)")


def spec(chart: str, **helm: Any) -> Any:
    return make_spec({"applications": [{"name": "db", "helm": {"chart": str(CHARTS / chart),
                                                                "namespace": "data", **helm}}]}, CHARTS)


def secrets(rendered: Any) -> dict[str, dict[str, str]]:
    out = {}
    for o in rendered.objects:
        if o["kind"] == "Secret":
            plain = {k: base64.b64decode(v).decode() for k, v in (o.get("data") or {}).items()}
            out[o["metadata"]["name"]] = {**plain, **(o.get("stringData") or {})}
    return out


def test_a_password_the_chart_makes_is_kept_from_the_first_apply() -> None:
    lib = Library.load()
    first = Credentials({})  # a fresh cluster
    made = secrets(render(spec("makes-passwords"), lib, credentials=first))
    assert len(made["db-auth"]["password"]) == 24 and len(made["db-root"]["root-password"]) == 32
    assert made["db-auth"]["user"] == "app" and made["db-root"]["host"] == "db"  # the same every render
    assert set(first.values) == {"db.data_db-auth_password", "db.data_db-root_root-password"}

    # every later render (the next apply, another machine, a new kfdeploy) gives the stored values
    for _ in range(2):
        again = secrets(render(spec("makes-passwords"), lib, credentials=Credentials(first.merged())))
        assert again == made


def test_an_install_made_before_keeps_its_live_values() -> None:
    live = {("data", "db-auth", "password"): "set-by-an-earlier-install"}
    credentials = Credentials({}, live=lambda ns, name, key: live.get((ns, name, key)))
    made = secrets(render(spec("makes-passwords"), Library.load(), credentials=credentials))
    assert made["db-auth"]["password"] == "set-by-an-earlier-install"
    assert len(made["db-root"]["root-password"]) == 32  # no live value: this render's


def test_offline_renders_are_placeholders_and_byte_identical() -> None:
    texts = [json.dumps(render(spec("makes-passwords"), Library.load()).objects, sort_keys=True) for _ in range(2)]
    assert texts[0] == texts[1]
    made = secrets(render(spec("makes-passwords"), Library.load()))
    assert made["db-auth"]["password"] == "<generated:db.data_db-auth_password>"
    assert made["db-root"]["root-password"] == "<generated:db.data_db-root_root-password>"


def test_a_value_from_helm_values_is_not_volatile() -> None:
    """A chart that makes nothing renders as it did: nothing stored, nothing replaced."""
    credentials = Credentials({})
    render(spec("tiny"), Library.load(), credentials=credentials)
    assert credentials.values == {}


def test_a_lookup_chart_is_kept_too(capsys: pytest.CaptureFixture[str]) -> None:
    first = Credentials({})
    made = secrets(render(spec("uses-lookup"), Library.load(), credentials=first))
    again = secrets(render(spec("uses-lookup"), Library.load(), credentials=Credentials(first.merged())))
    assert made == again and len(made["db"]["password"]) == 16
    assert "templates/secret.yaml call `lookup`" in capsys.readouterr().err


def test_values_made_outside_secrets_are_left_and_named(capsys: pytest.CaptureFixture[str]) -> None:
    """A webhook's caBundle and its Secret's certificate must change together: none is kept."""
    credentials = Credentials({})
    objects = render(spec("self-signed"), Library.load(), credentials=credentials).objects
    err = capsys.readouterr().err
    assert "helm application 'db'" in err and "ValidatingWebhookConfiguration/hook" in err
    assert "webhooks[0].clientConfig.caBundle" in err and "helm.values" in err
    assert credentials.values == {}
    tls = next(o for o in objects if o["kind"] == "Secret")
    assert set(tls["data"]) == {"tls.crt", "tls.key"} and "stringData" not in tls


def test_export_seeds_a_charts_generated_secrets_and_is_byte_identical(tmp_path: Path) -> None:
    import yaml
    from click.testing import CliRunner

    from kfdeploy.cli import cli
    (tmp_path / "kfdef.yaml").write_text(yaml.safe_dump({
        "apiVersion": "kfdef.apps.kubeflow.org/v1", "kind": "KfDef", "metadata": {"name": "t"},
        "spec": {"platform": {"kind": "kwok"}, "applications": [
            {"name": "db", "helm": {"chart": str(CHARTS / "makes-passwords"), "namespace": "data"}}]}}))
    args = ["export", "--format", "flux", "-d", str(tmp_path / "repo"), "-f", str(tmp_path / "kfdef.yaml"),
            "-o", "json"]
    first = CliRunner().invoke(cli, args)
    assert first.exit_code == 0, first.output
    seeded = json.loads(first.stdout)["clusters"][0]["seeded"]
    assert sorted(seeded) == ["Secret/data/db-auth", "Secret/data/db-root"]
    again = CliRunner().invoke(cli, args)
    assert again.exit_code == 0 and json.loads(again.stdout)["written"] == [], again.output
