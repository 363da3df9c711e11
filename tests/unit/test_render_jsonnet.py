"""The evaluator interface: same value from every installed engine, errors with file:line."""

from __future__ import annotations

from pathlib import Path

import pytest

from kfdeploy.errors import RenderError
from kfdeploy.render import jsonnet
from kfdeploy.render.jsonnet import JsonnetError, parse_error

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures" / "components"
JPATH = [REPO / "jsonnet" / "lib"]
ENGINES = sorted(jsonnet.available_engines())
PARAMS = {"namespace": "hello", "greeting": "hey", "replicas": 2, "password": "pw"}


@pytest.mark.parametrize("engine", ENGINES)
def test_engines_agree(engine: str) -> None:
    expected = jsonnet.evaluate(FIXTURES / "hello-list" / "main.jsonnet", PARAMS, JPATH, "rjsonnet")
    assert jsonnet.evaluate(FIXTURES / "hello-list" / "main.jsonnet", PARAMS, JPATH, engine) == expected
    assert expected[1]["data"]["greeting"] == "hey"


@pytest.mark.parametrize("engine", ENGINES)
def test_error_names_file_and_line(engine: str) -> None:
    with pytest.raises(JsonnetError) as err:
        jsonnet.evaluate(FIXTURES / "broken" / "main.jsonnet", {}, JPATH, engine)
    assert err.value.location is not None
    assert err.value.location.endswith("broken/main.jsonnet:5")
    assert "component broken cannot render" in str(err.value)


@pytest.mark.skipif(len(ENGINES) < 2, reason="needs a second evaluator to locate the error")
def test_error_without_location_is_located_by_another_engine() -> None:
    with pytest.raises(JsonnetError) as err:
        jsonnet.evaluate(FIXTURES / "broken-noloc" / "main.jsonnet", {}, JPATH, "rjsonnet")
    assert err.value.location is not None and err.value.location.endswith("broken-noloc/main.jsonnet:3")


PARSE = [
    ("rjsonnet-runtime", "runtime error: boom\n    /c/x/main.jsonnet:5:3-28: error statement",
     "boom", "/c/x/main.jsonnet:5"),
    ("cpp-runtime", "RUNTIME ERROR: boom\n\t/c/x/main.jsonnet:5:3-27\tthunk <array_element>\n",
     "boom", "/c/x/main.jsonnet:5"),
    ("cpp-static", "STATIC ERROR: /c/x/main.jsonnet:3:3: unexpected: \"]\"\n",
     'unexpected: "]"', "/c/x/main.jsonnet:3"),
    ("rjsonnet-syntax", "syntax error: expected one of \"}\", got \"]\"\n    /c/lib/k.libsonnet:3:3",
     'expected one of "}", got "]"', "/c/lib/k.libsonnet:3"),
    ("no-location", "no such field: nope", "no such field: nope", None),
]


@pytest.mark.parametrize("message,summary,location", [r[1:] for r in PARSE], ids=[r[0] for r in PARSE])
def test_parse_error(message: str, summary: str, location: str | None) -> None:
    assert parse_error(message) == (summary, location)


def test_unknown_engine() -> None:
    with pytest.raises(RenderError, match="choose one of: rjsonnet, jsonnet, gojsonnet"):
        jsonnet.engine("v8")
