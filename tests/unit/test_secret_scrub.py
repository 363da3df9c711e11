"""Secret values never reach output: one scrubber (kfdeploy.scrub) behind every printer, images
rendered with placeholders, validation errors that do not echo a secret written as a number,
and a warning for charts that call `lookup`. Each test scans what was printed for the values."""

from __future__ import annotations

import io
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from kfdeploy import scrub
from kfdeploy.cli import cli, run
from kfdeploy.credentials import Credentials
from kfdeploy.errors import EXIT_BAD_INPUT, RenderError, SpecError
from kfdeploy.options import Options
from kfdeploy.progress import Printer
from kfdeploy.render import helm, images, render
from kfdeploy.spec import load_spec
from kfdeploy.workflow.spec_verbs import TextResult

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
SECRET = "hunter2-correct-horse"
NUMBER = 918273645


def write_spec(tmp_path: Path, main: str, secret: Any = SECRET, helm_app: dict[str, Any] | None = None) -> Path:
    (tmp_path / "app").mkdir(exist_ok=True)
    (tmp_path / "app" / "main.jsonnet").write_text(main)
    app = helm_app or {"name": "leaky", "jsonnet": {"path": "app"}, "params": {"token": {"secretRef": "tok"}}}
    path = tmp_path / "kfdef.yaml"
    path.write_text(yaml.safe_dump({
        "apiVersion": "kfdef.apps.kubeflow.org/v1", "kind": "KfDef", "metadata": {"name": "t"},
        "spec": {"platform": {"kind": "existing", "existing": {"context": "x"}},
                 "secrets": [{"name": "tok", "secretSource": {"literalSource": {"value": secret}}}],
                 "applications": [app]}}))
    return path


IMAGE_MAIN = """function(params) [{apiVersion: 'apps/v1', kind: 'Deployment', metadata: {name: 'web'},
  spec: {selector: {matchLabels: {app: 'web'}}, template: {metadata: {labels: {app: 'web'}},
  spec: {containers: [{name: 'web', image: 'registry.example/web:' + params.token}]}}}}]
"""
ERROR_MAIN = "function(params) error 'cannot log in with ' + params.token\n"


def test_scrub_replaces_longest_values_first_and_skips_short_ones() -> None:
    scrub.remember("abcd", "<a>")
    scrub.remember("abcdefgh", "<b>")
    scrub.remember("xy", "<short>")
    assert scrub.scrub("abcdefgh abcd xy") == "<b> <a> xy"


def test_images_never_render_real_secret_values(tmp_path: Path) -> None:
    path = write_spec(tmp_path, IMAGE_MAIN)
    resolved = render(load_spec(path), credentials=Credentials.offline())  # what images rendered before
    assert any(SECRET in use.image for o in resolved.objects for use in images.find(o))
    scrub.forget_all()  # the printers would hide it: the image list itself must not hold it
    result = CliRunner().invoke(cli, ["images", "-v", "-f", str(path)])
    assert result.exit_code == 0, result.output
    assert SECRET not in result.output


def test_evaluator_errors_are_scrubbed_wherever_they_are_printed(tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    spec = load_spec(write_spec(tmp_path, ERROR_MAIN))
    with pytest.raises(RenderError) as err:  # a render that resolves the values, as plan and apply do
        render(spec, credentials=Credentials.offline())
    assert SECRET in str(err.value)  # the evaluator did quote it ...

    def failing(opts: Options) -> None:
        raise err.value

    with pytest.raises(SystemExit) as code:
        run(failing, Options())
    printed = capsys.readouterr()
    assert code.value.code == EXIT_BAD_INPUT
    assert SECRET not in printed.err + printed.out and "<secret:tok>" in printed.err  # ... no one sees it


def test_results_and_progress_are_scrubbed(capsys: pytest.CaptureFixture[str]) -> None:
    scrub.remember(SECRET, "<secret:tok>")
    run(lambda opts: TextResult(f"applied {SECRET}", {"message": f"applied {SECRET}"}), Options(output="json"))
    run(lambda opts: TextResult(f"applied {SECRET}"), Options())
    stream = io.StringIO()
    printer = Printer(stream, live=False)
    printer.line(f"step with {SECRET}")
    printer.app("leaky", "applying", f"detail {SECRET}")
    printer.app("leaky", "failed", f"final {SECRET}")
    assert SECRET not in capsys.readouterr().out + stream.getvalue()


def test_credentials_reveal_on_purpose(capsys: pytest.CaptureFixture[str]) -> None:
    scrub.remember(SECRET, "<secret:tok>")
    run(lambda opts: TextResult(SECRET, {"password": SECRET}), Options(output="json"), reveal=True)
    assert SECRET in capsys.readouterr().out


@pytest.mark.parametrize("value", [NUMBER, True, 3.25, [str(NUMBER)], {"v": str(NUMBER)}],
                         ids=["number", "boolean", "float", "list", "mapping"])
def test_validation_errors_do_not_echo_a_secret(tmp_path: Path, value: Any) -> None:
    with pytest.raises(SpecError) as err:
        load_spec(write_spec(tmp_path, ERROR_MAIN, secret=value))
    message = str(err.value)
    assert "spec.secrets[0].secretSource.literalSource.value" in message and "not shown" in message
    assert str(NUMBER) not in message and "3.25" not in message and "true" not in message.lower().split("e.g.")[0]


def test_a_chart_calling_lookup_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    assert helm.lookup_templates(FIXTURES / "charts" / "uses-lookup") == ["templates/secret.yaml"]
    assert helm.lookup_templates(FIXTURES / "charts" / "tiny") == []
    stub = tmp_path / "helm"  # a stand-in binary: the warning is about the chart, not helm's output
    stub.write_text(f"#!{sys.executable}\nprint('apiVersion: v1\\nkind: ConfigMap\\nmetadata: {{name: s}}')\n")
    stub.chmod(0o755)
    monkeypatch.setenv("KFDEPLOY_HELM_BINARY", str(stub))
    chart = {"name": "db", "helm": {"chart": str(FIXTURES / "charts" / "uses-lookup")}}
    render(load_spec(write_spec(tmp_path, ERROR_MAIN, helm_app=chart)))
    err = capsys.readouterr().err
    assert "helm application 'db'" in err and "templates/secret.yaml call `lookup`" in err
