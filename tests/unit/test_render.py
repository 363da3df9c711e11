"""render() end to end over a small library and the user components in tests/fixtures."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from label_policy import assert_source_labels_kept, source_and_rendered

from kfdeploy.errors import RenderError, ToolMissingError
from kfdeploy.labels import APPLICATION
from kfdeploy.library import Library
from kfdeploy.options import Options
from kfdeploy.render import dependency_order, helm, render
from kfdeploy.spec import KfDef, load_spec
from kfdeploy.workflow import render_verbs

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures"
MAIN = """local k = import 'k.libsonnet';
function(params) [k.configMap(params.prefix + '-config', null, { n: std.toString(params.replicas) })]
"""


def write_library(root: Path, deps: dict[str, list[str]]) -> Library:
    """Components named in ``deps`` (each a ConfigMap), k.libsonnet, no overlays."""
    shutil.copytree(REPO / "jsonnet" / "lib", root / "jsonnet" / "lib")
    for name, depends in deps.items():
        d = root / "jsonnet" / "components" / name
        d.mkdir(parents=True)
        (d / "main.jsonnet").write_text(MAIN)
        (d / "component.yaml").write_text(yaml.safe_dump({
            "description": name, "enabledByDefault": True, "dependsOn": depends,
            "params": {"prefix": {"type": "string", "default": name, "doc": "p"},
                       "replicas": {"type": "integer", "default": 1, "doc": "r"}}}))
    return Library.load(root)


def make_spec(spec: dict[str, Any], base: Path = FIXTURES) -> KfDef:
    doc = {"apiVersion": "kfdef.apps.kubeflow.org/v1", "kind": "KfDef", "metadata": {"name": "t"},
           "spec": {"platform": {"kind": "kwok"}, **spec}}
    return KfDef.model_validate(doc).with_origin("kfdef.yaml", base)


@pytest.fixture
def lib(tmp_path: Path) -> Library:
    return write_library(tmp_path / "lib", {"base": [], "mid": ["base"], "top": ["mid", "base"]})


USER_APPS = [
    {"name": "hello", "jsonnet": {"path": "components/hello-list"}, "params": {"greeting": "yo"}},
    {"name": "tanka", "jsonnet": {"path": "components/hello-tanka"}, "params": {"color": "blue"}},
]


def test_user_components_list_and_tanka(lib: Library) -> None:
    rendered = render(make_spec({"applications": USER_APPS}), lib)
    hello, tanka = rendered.applications
    assert [(o["kind"], o["metadata"]["name"]) for o in hello.objects] == [
        ("Namespace", "hello"), ("ConfigMap", "hello"), ("Secret", "hello"), ("Deployment", "hello")]
    assert hello.namespace == "hello" and hello.objects[1]["data"]["greeting"] == "yo"
    assert hello.objects[3]["metadata"]["namespace"] == "hello"
    assert [(o["kind"], o["metadata"].get("namespace")) for o in tanka.objects] == [
        ("ClusterRole", None), ("ConfigMap", "kubeflow")]
    assert tanka.objects[1]["data"] == {"color": "blue"}
    assert tanka.objects[1]["metadata"]["labels"][APPLICATION] == "tanka"


def test_dependency_order_and_metadata(lib: Library) -> None:
    spec = make_spec({"applications": [{"name": "top"}, {"name": "mid"}, {"name": "base"}]})
    rendered = render(spec, lib)
    assert rendered.names() == ["base", "mid", "top"]
    assert rendered.applications[2].depends_on == ["mid", "base"]
    assert len(rendered.applications[0].params_hash) == 64


def test_spec_depends_on_overrides_component(lib: Library) -> None:
    spec = make_spec({"applications": [{"name": "top", "dependsOn": []}, {"name": "base"}, {"name": "mid"}]})
    assert render(spec, lib).names() == ["top", "base", "mid"]


ORDER_ERRORS = [
    ("cycle", {"a": ("b",), "b": ("c",), "c": ("a",)}, "dependency cycle: a -> b -> c -> a"),
    ("self", {"a": ("a",)}, "dependency cycle: a -> a"),
    ("unknown", {"a": ("bse",), "base": ()}, "'a' depends on 'bse', which is not applied (did you mean 'base'?)"),
]


@pytest.mark.parametrize("deps,message", [r[1:] for r in ORDER_ERRORS], ids=[r[0] for r in ORDER_ERRORS])
def test_dependency_errors(deps: dict[str, tuple[str, ...]], message: str) -> None:
    with pytest.raises(RenderError) as err:
        dependency_order(deps)
    assert message in str(err.value)


def test_disabled_dependency_is_an_error(lib: Library) -> None:
    spec = make_spec({"applications": [{"name": "mid"}, {"name": "base", "enabled": False}]})
    with pytest.raises(RenderError, match="'mid' depends on 'base', which is disabled"):
        render(spec, lib)


def test_only_filters_and_rejects_unknown(lib: Library) -> None:
    spec = make_spec({"applications": [{"name": "base"}, {"name": "mid"}]})
    assert render(spec, lib, only=["mid"]).names() == ["mid"]
    message = "unknown application 'mdi' \\(did you mean 'mid'\\?\\); applications: base, mid"
    with pytest.raises(RenderError, match=message):
        render(spec, lib, only=["mdi"])


def test_render_is_deterministic(lib: Library) -> None:
    spec = make_spec({"applications": [*USER_APPS, {"name": "top"}, {"name": "mid"}, {"name": "base"}]})
    first = render_verbs.yaml_stream(render(spec, lib).objects)
    assert render_verbs.yaml_stream(render(spec, lib).objects) == first


def test_render_error_names_application_and_file_line(lib: Library) -> None:
    spec = make_spec({"applications": [{"name": "oops", "jsonnet": {"path": "components/broken"}}]})
    with pytest.raises(RenderError) as err:
        render(spec, lib)
    assert "application 'oops'" in str(err.value)
    assert "broken/main.jsonnet:5" in str(err.value)


def test_problems_reported_before_evaluating(lib: Library) -> None:
    spec = make_spec({"applications": [{"name": "base", "params": {"replica": 2}}, {"name": "nope"}]})
    with pytest.raises(RenderError) as err:
        render(spec, lib)
    assert "2 problem(s)" in str(err.value) and "did you mean 'replicas'" in str(err.value)


def test_duplicate_across_applications(lib: Library) -> None:
    spec = make_spec({"applications": [{"name": "base"}, {"name": "mid", "params": {"prefix": "base"}}]})
    message = "ConfigMap/kubeflow/base-config is rendered twice in applications 'base' and 'mid'"
    with pytest.raises(RenderError, match=message):
        render(spec, lib)


def test_secret_ref_reaches_secret_object_only(lib: Library) -> None:
    app = {**USER_APPS[0], "params": {"password": {"secretRef": "pw"}}}
    spec = make_spec({"secrets": [{"name": "pw", "secretSource": {"envSource": {"name": "HELLO_PW"}}}],
                      "applications": [app]})
    rendered = render(spec, lib, env={"HELLO_PW": "s3cret"})
    secret = next(o for o in rendered.objects if o["kind"] == "Secret")
    assert secret["stringData"] == {"password": "s3cret"}
    assert "s3cret" not in json.dumps([o for o in rendered.objects if o["kind"] != "Secret"])


def write_spec(tmp_path: Path, apps: list[dict[str, Any]]) -> Path:
    path = tmp_path / "kfdef.yaml"
    path.write_text(yaml.safe_dump({"apiVersion": "kfdef.apps.kubeflow.org/v1", "kind": "KfDef",
                                    "metadata": {"name": "t"},
                                    "spec": {"platform": {"kind": "kwok"}, "applications": apps}}))
    return path


@pytest.fixture
def verb_spec(tmp_path: Path, lib: Library, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("KFDEPLOY_LIBRARY", str(lib.root))
    shutil.copytree(FIXTURES / "components", tmp_path / "components")
    return write_spec(tmp_path, [*USER_APPS, {"name": "top"}, {"name": "mid"}, {"name": "base"}])


def test_build_writes_ordered_files_and_removes_stale(verb_spec: Path, tmp_path: Path) -> None:
    out = tmp_path / "build"
    out.mkdir()
    (out / "09-gone.yaml").write_text(render_verbs.HEADER + "---\n{}\n")
    (out / "notes.yaml").write_text("mine: true\n")
    result = render_verbs.build(Options(file=str(verb_spec)), out_dir=str(out))
    names = ["01-hello.yaml", "02-tanka.yaml", "03-base.yaml", "04-mid.yaml", "05-top.yaml"]
    assert sorted(p.name for p in out.iterdir()) == sorted(names + ["notes.yaml"])
    assert result.removed == ["09-gone.yaml"]
    first = {n: (out / n).read_bytes() for n in names}
    render_verbs.build(Options(file=str(verb_spec)), out_dir=str(out))
    assert {n: (out / n).read_bytes() for n in names} == first
    docs = list(yaml.safe_load_all((out / "01-hello.yaml").read_text()))
    assert [d["kind"] for d in docs] == ["Namespace", "ConfigMap", "Secret", "Deployment"]
    assert "multi: |\n" in (out / "01-hello.yaml").read_text()
    assert "5 application(s), 9 object(s)" in result.text()


def test_show_filters_and_formats(verb_spec: Path) -> None:
    result = render_verbs.show(Options(file=str(verb_spec)), applications=("mid", "base"))
    assert [o["metadata"]["name"] for o in result.to_data()] == ["base-config", "mid-config"]
    assert result.text().startswith("---\napiVersion: v1\nkind: ConfigMap\n")
    with pytest.raises(RenderError, match="applications: hello, tanka, base, mid, top"):
        render_verbs.show(Options(file=str(verb_spec)), applications=("nope",))


def test_components_lists_params(lib: Library, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KFDEPLOY_LIBRARY", str(lib.root))
    result = render_verbs.components(Options())
    data = {c["name"]: c for c in result.to_data()}
    assert data["top"]["dependsOn"] == ["mid", "base"]
    assert data["base"]["params"]["replicas"] == {"type": "integer", "default": 1, "doc": "r"}
    assert "replicas (integer, default 1): r" in result.text()


def test_load_spec_roundtrip(verb_spec: Path) -> None:
    assert load_spec(verb_spec).spec.applications[0].name == "hello"


def helm_binary() -> Path | None:
    try:
        return helm.find_helm()
    except ToolMissingError:
        return None


@pytest.mark.skipif(helm_binary() is None, reason="helm is not built yet (run `make tools`)")
def test_helm_application(lib: Library) -> None:
    spec = make_spec({"applications": [{"name": "tiny", "helm": {"chart": "charts/tiny", "namespace": "web",
                                                                 "values": {"replicas": 3}}}]})
    app = render(spec, lib).applications[0]
    # The release namespace is made (helm install --create-namespace), first.
    assert [(o["kind"], o["metadata"]["name"], o["metadata"].get("namespace")) for o in app.objects] == [
        ("Namespace", "web", None), ("ConfigMap", "tiny-config", "web"), ("Deployment", "tiny", "web")]
    assert app.objects[2]["spec"]["replicas"] == 3
    assert app.objects[2]["spec"]["template"]["metadata"]["labels"] == {"app": "tiny"}


def test_helm_missing_says_make_tools(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("KFDEPLOY_HELM_BINARY", str(tmp_path / "nohelm"))
    with pytest.raises(ToolMissingError, match="KFDEPLOY_HELM_BINARY"):
        helm.find_helm()
    monkeypatch.delenv("KFDEPLOY_HELM_BINARY")
    monkeypatch.setenv("KFDEPLOY_TOOLS_DIR", str(tmp_path))
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ToolMissingError, match="make tools"):
        helm.find_helm()


def test_helm_args_are_a_list() -> None:
    args = helm.template_args(Path("/bin/helm"), "r", "./c", "ns", ["a.yaml"], "1.0", "https://x", "1.33")
    assert args == ["/bin/helm", "template", "r", "./c", "--namespace", "ns", "--include-crds",
                    "--values", "a.yaml", "--version", "1.0", "--repo", "https://x", "--kube-version", "1.33"]


STUB_HELM = """#!{python}
import json, sys, yaml
args = sys.argv[1:]
values = {{}}
for i, a in enumerate(args):
    if a == "--values":
        values.update(yaml.safe_load(open(args[i + 1])) or {{}})
cm = {{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {{"name": args[1] + "-args"}},
      "data": {{"args": json.dumps([a if not a.endswith("values.yaml") else "VALUES" for a in args]),
               "values": json.dumps(values, sort_keys=True)}}}}
print("---\\n# comment only\\n---")
print(yaml.safe_dump(cm))
"""


def test_helm_stub_receives_values_file_and_splits_stream(lib: Library, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """A recording stand-in for the helm binary: argument list, values via file, secretRef resolved."""
    import sys
    stub = tmp_path / "helm"
    stub.write_text(STUB_HELM.format(python=sys.executable))
    stub.chmod(0o755)
    monkeypatch.setenv("KFDEPLOY_HELM_BINARY", str(stub))
    spec = make_spec({"secrets": [{"name": "tok", "secretSource": {"literalSource": {"value": "t0k"}}}],
                      "applications": [{"name": "tiny", "helm": {"chart": "charts/tiny",
                                        "values": {"replicas": 3, "token": {"secretRef": "tok"}}}}]})
    app = render(spec, lib).applications[0]
    assert [(o["kind"], o["metadata"]["name"]) for o in app.objects] == [
        ("Namespace", "kubeflow"), ("ConfigMap", "tiny-args")]
    data = app.objects[1]["data"]
    assert json.loads(data["args"]) == ["template", "tiny", str(FIXTURES / "charts/tiny"), "--namespace",
                                        "kubeflow", "--include-crds", "--values", "VALUES"]
    assert json.loads(data["values"]) == {"replicas": 3, "token": "t0k"}
    assert app.namespace == "kubeflow" and app.objects[1]["metadata"]["namespace"] == "kubeflow"


# -- the label policy, per source (tests/unit/label_policy.py) ------------------------------

SELECTS_COMPONENT = "selects-component"  # fixtures whose selectors use app.kubernetes.io/component


def test_jsonnet_source_selectors_and_templates_unchanged(lib: Library) -> None:
    spec = make_spec({"applications": [{"name": "demo", "params": {"namespace": "demo"},
                                        "jsonnet": {"path": f"components/{SELECTS_COMPONENT}"}}]})
    raw, rendered = source_and_rendered(spec, lib, "demo")
    assert {o["kind"] for o in raw} >= {"Deployment", "Service", "Job"}
    assert_source_labels_kept(raw, rendered, "demo")


@pytest.mark.skipif(helm_binary() is None, reason="helm is not built yet (run `make tools`)")
def test_helm_source_selectors_and_templates_unchanged(lib: Library) -> None:
    spec = make_spec({"applications": [{"name": "demo", "helm": {"chart": f"charts/{SELECTS_COMPONENT}",
                                                                 "namespace": "demo"}}]})
    raw, rendered = source_and_rendered(spec, lib, "demo")
    assert {o["kind"] for o in raw} >= {"Deployment", "Service", "Job", "CronJob"}
    assert_source_labels_kept(raw, rendered, "demo")
