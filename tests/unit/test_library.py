"""The component catalog: component.yaml validation, overlays, platforms, the real library."""

from __future__ import annotations

from pathlib import Path

import pytest

from kfdeploy.errors import RenderError
from kfdeploy.library import Library, load_component, matches_type, type_of

REPO = Path(__file__).resolve().parents[2]

TYPES = [
    ("string", "x", True), ("string", 1, False), ("integer", 3, True), ("integer", True, False),
    ("integer", 1.5, False), ("number", 1.5, True), ("number", 2, True), ("number", False, False),
    ("boolean", False, True), ("boolean", 0, False), ("array", [], True), ("array", {}, False),
    ("object", {}, True), ("object", None, False),
]


@pytest.mark.parametrize("type_name,value,ok", TYPES, ids=[f"{t}-{type_of(v)}" for t, v, _ in TYPES])
def test_matches_type(type_name: str, value: object, ok: bool) -> None:
    assert matches_type(type_name, value) is ok


BAD_COMPONENTS = [
    ("bad-type", "params:\n  a: {type: int, default: 1, doc: x}\n",
     ["param 'a' has type 'int'", "valid types: string, integer"]),
    ("default-mismatch", "params:\n  a: {type: integer, default: '1', doc: x}\n",
     ["param 'a' is integer but its default '1' is string"]),
    ("missing-default", "params:\n  a: {type: string, doc: x}\n", ["param 'a' needs a default"]),
    ("unquoted-comma", "params:\n  a: {type: string, default: x, doc: one, two}\n",
     ["param 'a' has unknown key 'two'", "quote the doc string"]),
    ("unknown-top-key", "description: d\ndepends: [x]\n", ["unknown key 'depends' (did you mean 'dependsOn'?)"]),
    ("bad-yaml", "params: [\n", ["not valid YAML"]),
]


@pytest.mark.parametrize("text,fragments", [r[1:] for r in BAD_COMPONENTS], ids=[r[0] for r in BAD_COMPONENTS])
def test_component_yaml_errors_name_the_file(tmp_path: Path, text: str, fragments: list[str]) -> None:
    (tmp_path / "main.jsonnet").write_text("function(params) []\n")
    (tmp_path / "component.yaml").write_text(text)
    with pytest.raises(RenderError) as err:
        load_component(tmp_path)
    assert str(tmp_path / "component.yaml") in str(err.value)
    for fragment in fragments:
        assert fragment in str(err.value)


def test_user_component_without_component_yaml_is_untyped(tmp_path: Path) -> None:
    (tmp_path / "main.jsonnet").write_text("function(params) []\n")
    assert load_component(tmp_path, "mine", required=False).typed is False
    with pytest.raises(RenderError, match="component.yaml does not exist"):
        load_component(tmp_path, "mine")


def test_missing_main_jsonnet(tmp_path: Path) -> None:
    with pytest.raises(RenderError, match="main.jsonnet does not exist"):
        load_component(tmp_path, "mine", required=False)


def test_root_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KFDEPLOY_LIBRARY", str(tmp_path))
    with pytest.raises(RenderError, match="KFDEPLOY_LIBRARY"):
        Library.load()


@pytest.fixture(scope="module")
def library() -> Library:
    return Library.load(REPO)


def test_real_library_is_consistent(library: Library) -> None:
    """Overlays name only declared params with the right types; platforms name real overlays."""
    assert library.check() == []


def test_real_library_has_required_overlays_and_platforms(library: Library) -> None:
    assert {"gke", "eks", "kind", "minikube", "kwok", "gpu", "ha", "minimal"} <= set(library.overlays)
    assert {"gke", "eks", "kind", "minikube", "kwok", "existing"} <= set(library.platforms)
    assert all(ov.description for ov in library.overlays.values())
    for kind in ("eks", "kind", "kwok", "minikube"):
        assert "nvidia-device-plugin" in library.platforms[kind].addons
    assert "nvidia-device-plugin" not in library.platforms["gke"].addons


def test_every_component_documents_its_params(library: Library) -> None:
    missing = [f"{c.name}.{p.name}" for c in library.components.values() for p in c.params.values() if not p.doc]
    assert missing == []
    assert all(c.description for c in library.components.values())
