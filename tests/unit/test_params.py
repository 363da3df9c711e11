"""Param resolution: precedence of every layer, applied set, error messages, secrets."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from test_render import make_spec

from kfdeploy.errors import SpecError
from kfdeploy.library import Library
from kfdeploy.render import check_applications
from kfdeploy.render.params import plan_applications, resolve_secrets

ALPHA = {
    "description": "Alpha.", "enabledByDefault": True, "dependsOn": [],
    "params": {
        "namespace": {"type": "string", "default": "alpha-ns", "doc": "ns"},
        "replicas": {"type": "integer", "default": 1, "doc": "r"},
        "image": {"type": "string", "default": "alpha:1", "doc": "i"},
        "ratio": {"type": "number", "default": 0.5, "doc": "n"},
        "debug": {"type": "boolean", "default": False, "doc": "b"},
        "password": {"type": "string", "default": "", "doc": "p"},
    },
}
BETA = {"description": "Beta.", "enabledByDefault": False, "dependsOn": ["alpha"],
        "params": {"namespace": {"type": "string", "default": "beta-ns", "doc": "ns"}}}
OVERLAYS = {
    "plat": {"description": "platform", "params": {"alpha": {"image": "plat:1", "replicas": 2}}},
    "one": {"description": "one", "params": {"alpha": {"image": "one:1", "replicas": 3}}},
    "two": {"description": "two", "params": {"alpha": {"image": "two:1"}}},
    "wild": {"description": "wild", "params": {"*": {"replicas": 7}}},
    "own": {"description": "own", "params": {"alpha": {"image": "own:1"}}},
}
MAIN = ("function(params) [{apiVersion: 'v1', kind: 'ConfigMap', metadata: {name: 'cfg'},"
        " data: {image: params.image}}]\n")


def write_library(root: Path, platform: dict[str, Any] | None = None) -> Library:
    """A two-component library with overlays and a kwok platform file."""
    for name, meta in {"alpha": ALPHA, "beta": BETA}.items():
        d = root / "jsonnet" / "components" / name
        d.mkdir(parents=True)
        (d / "component.yaml").write_text(yaml.safe_dump(meta))
        (d / "main.jsonnet").write_text(MAIN)
    (root / "jsonnet" / "lib").mkdir(parents=True)
    (root / "overlays").mkdir()
    for name, ov in OVERLAYS.items():
        (root / "overlays" / f"{name}.yaml").write_text(yaml.safe_dump(ov))
    (root / "platforms").mkdir()
    plat = platform if platform is not None else {"kubernetesVersion": "1.33", "overlays": ["plat"], "addons": ["beta"]}
    (root / "platforms" / "kwok.yaml").write_text(yaml.safe_dump(plat))
    return Library.load(root)


@pytest.fixture
def lib(tmp_path: Path) -> Library:
    return write_library(tmp_path)


def alpha_params(lib: Library, spec: dict[str, Any]) -> dict[str, Any]:
    plans, problems = plan_applications(make_spec(spec), lib)
    assert problems == []
    return next(p for p in plans if p.name == "alpha").params


# Each row adds one layer above the previous rows; the expected image/replicas come from it.
PRECEDENCE = [
    ("component-default", {"applications": [{"name": "alpha"}]}, None, "alpha:1", 1),
    ("platform-overlay", {"applications": [{"name": "alpha"}]}, "plat", "plat:1", 2),
    ("spec-overlays", {"overlays": ["one"], "applications": [{"name": "alpha"}]}, "plat", "one:1", 3),
    ("spec-overlays-in-order", {"overlays": ["one", "two"], "applications": [{"name": "alpha"}]},
     "plat", "two:1", 3),
    ("spec-params-star", {"overlays": ["one"], "params": {"*": {"replicas": 4}},
                          "applications": [{"name": "alpha"}]}, "plat", "one:1", 4),
    ("spec-params-app", {"overlays": ["one"], "params": {"*": {"replicas": 4}, "alpha": {"replicas": 5}},
                         "applications": [{"name": "alpha"}]}, "plat", "one:1", 5),
    ("app-overlays", {"overlays": ["one"], "params": {"alpha": {"image": "p:1", "replicas": 5}},
                      "applications": [{"name": "alpha", "overlays": ["own"]}]}, "plat", "own:1", 5),
    ("app-params", {"overlays": ["one"], "params": {"alpha": {"replicas": 5}},
                    "applications": [{"name": "alpha", "overlays": ["own"],
                                      "params": {"image": "app:1", "replicas": 6}}]}, "plat", "app:1", 6),
]


@pytest.mark.parametrize("spec,platform_overlay,image,replicas",
                         [r[1:] for r in PRECEDENCE], ids=[r[0] for r in PRECEDENCE])
def test_precedence(tmp_path: Path, spec: dict[str, Any], platform_overlay: str | None,
                    image: str, replicas: int) -> None:
    lib = write_library(tmp_path, {"overlays": [platform_overlay] if platform_overlay else []})
    params = alpha_params(lib, spec)
    assert (params["image"], params["replicas"]) == (image, replicas)
    assert params["namespace"] == "alpha-ns" and params["debug"] is False


def test_star_overlay_is_below_component_entry_and_skips_undeclared(lib: Library) -> None:
    spec = {"overlays": ["wild"], "applications": [{"name": "alpha"}, {"name": "beta"}]}
    plans, problems = plan_applications(make_spec(spec), lib)
    assert problems == []
    by = {p.name: p.params for p in plans}
    assert by["alpha"]["replicas"] == 7
    assert "replicas" not in by["beta"]


def test_star_params_only_for_declaring_components(lib: Library) -> None:
    spec = {"params": {"*": {"debug": True}}, "applications": [{"name": "alpha"}, {"name": "beta"}]}
    plans, problems = plan_applications(make_spec(spec), lib)
    assert problems == []
    assert {p.name: p.params.get("debug") for p in plans} == {"alpha": True, "beta": None}


APPLIED = [
    ("listed-then-addon", [{"name": "alpha"}], ["alpha", "beta"]),
    ("addon-listed-keeps-position", [{"name": "beta"}, {"name": "alpha"}], ["beta", "alpha"]),
    ("addon-disabled-by-user", [{"name": "alpha"}, {"name": "beta", "enabled": False}], ["alpha"]),
    ("empty-means-defaults", [], ["alpha", "beta"]),
]


@pytest.mark.parametrize("apps,expected", [r[1:] for r in APPLIED], ids=[r[0] for r in APPLIED])
def test_applied_set(lib: Library, apps: list[dict[str, Any]], expected: list[str]) -> None:
    plans, _ = plan_applications(make_spec({"applications": apps}), lib)
    assert [p.name for p in plans] == expected


ERRORS = [
    ("unknown-component", {"applications": [{"name": "alpah"}, {"name": "alpha"}]},
     ["spec.applications[0].name", "unknown component 'alpah'", "did you mean 'alpha'", "alpha, beta"]),
    ("unknown-param", {"applications": [{"name": "alpha", "params": {"replica": 2}}]},
     ["spec.applications[0].params", "'alpha' has no param 'replica'", "did you mean 'replicas'"]),
    ("wrong-type", {"applications": [{"name": "alpha", "params": {"replicas": "2"}}]},
     ["spec.applications[0].params", "'replicas'", "is integer, got string"]),
    ("bool-is-not-integer", {"applications": [{"name": "alpha", "params": {"replicas": True}}]},
     ["is integer, got boolean"]),
    ("unknown-overlay", {"overlays": ["tow"], "applications": [{"name": "alpha"}]},
     ["spec.overlays[0]: unknown overlay 'tow'", "did you mean 'two'", "one, own, plat, two, wild"]),
    ("unknown-app-overlay", {"applications": [{"name": "alpha", "overlays": ["nope"]}]},
     ["spec.applications[0].overlays[0]: unknown overlay 'nope'"]),
    ("spec-params-unknown-app", {"params": {"alpah": {"x": 1}}, "applications": [{"name": "alpha"}]},
     ["spec.params.alpah: no application named 'alpah'", "did you mean 'alpha'"]),
    ("spec-params-app-unknown-param", {"params": {"alpha": {"imag": "x"}}, "applications": [{"name": "alpha"}]},
     ["spec.params.alpha: component 'alpha' has no param 'imag'", "did you mean 'image'"]),
    ("star-wrong-type", {"params": {"*": {"replicas": "x"}}, "applications": [{"name": "alpha"}]},
     ['spec.params["*"]', "is integer, got string"]),
    ("unknown-secret-ref", {"applications": [{"name": "alpha", "params": {"password": {"secretRef": "db"}}}]},
     ["secretRef 'db' is not in spec.secrets"]),
]


@pytest.mark.parametrize("spec,fragments", [r[1:] for r in ERRORS], ids=[r[0] for r in ERRORS])
def test_errors_name_source_and_choices(lib: Library, spec: dict[str, Any], fragments: list[str]) -> None:
    problems = check_applications(make_spec(spec), lib)
    text = "\n".join(problems)
    assert len(problems) == 1, text
    for fragment in fragments:
        assert fragment in text


def test_all_problems_reported_at_once(lib: Library) -> None:
    spec = {"overlays": ["nope"], "applications": [{"name": "alpha", "params": {"replicas": "x", "bad": 1}},
                                                  {"name": "gamma"}]}
    assert len(check_applications(make_spec(spec), lib)) == 4


def test_overlay_problems_name_the_file(tmp_path: Path) -> None:
    lib = write_library(tmp_path)
    (tmp_path / "overlays" / "bad.yaml").write_text(yaml.safe_dump(
        {"description": "bad", "params": {"alpha": {"replicas": "many", "imagee": "x"},
                                          "gama": {}, "*": {"nothere": 1}}}))
    problems = "\n".join(Library.load(tmp_path).check())
    assert "bad.yaml: params.alpha.replicas: expected integer, got string" in problems
    assert "bad.yaml: params.alpha.imagee: component 'alpha' has no param 'imagee' (did you mean 'image'?)" in problems
    assert "bad.yaml: params.gama: unknown component" in problems
    assert "params.\"*\".nothere: no component declares param 'nothere'" in problems
    assert lib.check() == []


def test_secret_ref_resolved_from_env(lib: Library) -> None:
    spec = make_spec({"secrets": [{"name": "db", "secretSource": {"envSource": {"name": "DB_PASSWORD"}}}],
                      "applications": [{"name": "alpha", "params": {"password": {"secretRef": "db"}}}]})
    plans, problems = plan_applications(spec, lib)
    assert problems == []
    assert plans[0].params["password"] == {"secretRef": "db"}
    assert resolve_secrets(plans[0].params, spec, {"DB_PASSWORD": "s3cret"})["password"] == "s3cret"
    with pytest.raises(SpecError, match="DB_PASSWORD"):
        resolve_secrets(plans[0].params, spec, {})


def test_params_hash_stable_and_secret_free(lib: Library) -> None:
    def plan(value: Any) -> str:
        spec = make_spec({"secrets": [{"name": "db", "secretSource": {"literalSource": {"value": value}}}],
                          "applications": [{"name": "alpha", "params": {"password": {"secretRef": "db"}}}]})
        return plan_applications(spec, lib)[0][0].params_hash()
    assert plan("a") == plan("b")
    assert len(plan("a")) == 64
