"""The render cache and the render session: an unchanged spec is served from the cache, a change
to any input of an application renders that application again (real renders counted by
``render.SOURCE_RENDERS``), no entry holds a secret, broken entries are rendered again, and a
session renders each application once."""

from __future__ import annotations

import base64
import json
import shutil
import tarfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from test_kustomize import needs_kubectl
from test_render import helm_binary, make_spec, write_library

import kfdeploy
from kfdeploy.cli import cli
from kfdeploy.credentials import Credentials, store_key
from kfdeploy.errors import RenderError
from kfdeploy.library import Library
from kfdeploy.render import SOURCE_RENDERS, Rendered, Session, render
from kfdeploy.render import key as render_key
from kfdeploy.render.cache import RenderCache
from kfdeploy.spec import KfDef
from kfdeploy.tools import find_tool

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
needs_helm = pytest.mark.skipif(helm_binary() is None, reason="helm is not built yet (run `make tools`)")

BASE_DEPLOYMENT = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
                   "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}},
                            "template": {"metadata": {"labels": {"app": "web"}},
                                         "spec": {"containers": [{"name": "web", "image": "reg.example/web:1"}]}}}}
POST_RENDER = """local helpers = import 'helpers.libsonnet';
function(objects, params) objects + [helpers.configMap(params)]
"""
HELPERS = """{ configMap(params):: { apiVersion: 'v1', kind: 'ConfigMap',
  metadata: { name: 'web-extra' }, data: { note: std.toString(params) } } }
"""
CREDENTIAL_MAIN = """function(params) [{ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'vault' },
  stringData: { password: params.password } }]
"""


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def kustomization(**fields: Any) -> str:
    return yaml.safe_dump({"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization", **fields})


@dataclass
class Project:
    """A spec folder with a kustomize repo, a chart, a postRender file and a library."""

    root: Path
    doc: dict[str, Any]
    namespace: str = "kubeflow"

    @property
    def library(self) -> Library:
        return Library.load(self.root / "lib")

    def spec(self) -> KfDef:
        spec = make_spec(self.doc["spec"], self.root)
        spec.metadata.namespace = self.namespace
        return spec

    def renders(self, cache: RenderCache) -> set[str]:
        """The applications really rendered (not read from the cache) by one render."""
        before = Counter(SOURCE_RENDERS)
        render(self.spec(), self.library, cache=cache)
        return {name for name, n in SOURCE_RENDERS.items() if n > before[name]}

    def app(self, name: str) -> dict[str, Any]:
        found: dict[str, Any] = next(a for a in self.doc["spec"]["applications"] if a["name"] == name)
        return found


@pytest.fixture
def project(tmp_path: Path) -> Project:
    root = tmp_path / "project"
    repo = root / "release"
    write(repo / "base" / "deployment.yaml", yaml.safe_dump(BASE_DEPLOYMENT))
    write(repo / "base" / "kustomization.yaml", kustomization(resources=["deployment.yaml"]))
    write(repo / "app" / "kustomization.yaml", kustomization(
        resources=["../base"], configMapGenerator=[{"name": "web-config", "literals": ["mode=a"]}]))
    write(repo / "comp" / "kustomization.yaml", yaml.safe_dump({
        "apiVersion": "kustomize.config.k8s.io/v1alpha1", "kind": "Component",
        "commonAnnotations": {"example.com/component": "on"}}))
    write(repo / "other" / "kustomization.yaml", kustomization(resources=["cm.yaml"]))
    write(repo / "other" / "cm.yaml", yaml.safe_dump({"apiVersion": "v1", "kind": "ConfigMap",
                                                       "metadata": {"name": "other"}}))
    write(repo / "extra" / "kustomization.yaml", kustomization(
        configMapGenerator=[{"name": "extra", "literals": ["a=1"]}]))
    write(root / "post" / "render.jsonnet", POST_RENDER)
    write(root / "post" / "helpers.libsonnet", HELPERS)
    write(root / "patches" / "replicas.yaml", yaml.safe_dump(
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"}, "spec": {"replicas": 2}}))
    shutil.copytree(FIXTURES / "charts" / "tiny", root / "chart")
    write(root / "values.yaml", "replicas: 2\n")
    write_library(root / "lib", {"base": []})
    write(root / "lib" / "platforms" / "kwok.yaml", "kubernetesVersion: '1.36'\n")
    apps: list[dict[str, Any]] = [
        {"name": "base"},
        {"name": "web", "kustomize": {"repo": "release", "path": "app"},
         "patches": [{"path": "patches/replicas.yaml"}], "postRender": "post/render.jsonnet",
         "params": {"note": "x"}},
        {"name": "other", "kustomize": {"repo": "release", "path": "other"}},
    ]
    if helm_binary() is not None:
        apps.append({"name": "chart", "helm": {"chart": "./chart", "values": {"replicas": 3},
                                               "valuesFiles": ["values.yaml"]}})
    doc = {"spec": {"repos": [{"name": "release", "uri": "release"}], "applications": apps}}
    return Project(root, doc)


@pytest.fixture
def cache(tmp_path: Path) -> RenderCache:
    return RenderCache(tmp_path / "render-cache")


def archive(folder: Path, target: Path) -> None:
    with tarfile.open(target, "w:gz") as tar:
        tar.add(folder, arcname="release")


# Each change touches one input of the key; the applications it names must render again.
Change = Callable[[Project, pytest.MonkeyPatch], None]


def edit_file(relative: str, old: str, new: str) -> Change:
    def change(p: Project, mp: pytest.MonkeyPatch) -> None:
        path = p.root / relative
        text = path.read_text()
        assert old in text, f"{relative} has no {old!r}"
        path.write_text(text.replace(old, new))
    return change


def append(relative: str, text: str) -> Change:
    def change(p: Project, mp: pytest.MonkeyPatch) -> None:
        with (p.root / relative).open("a") as f:
            f.write(text)
    return change


def set_app(name: str, **fields: Any) -> Change:
    def change(p: Project, mp: pytest.MonkeyPatch) -> None:
        p.app(name).update(fields)
    return change


def set_kustomize(**fields: Any) -> Change:
    def change(p: Project, mp: pytest.MonkeyPatch) -> None:
        p.app("web")["kustomize"].update(fields)
    return change


def set_helm(**fields: Any) -> Change:
    def change(p: Project, mp: pytest.MonkeyPatch) -> None:
        p.app("chart")["helm"].update(fields)
    return change


def both(*changes: Change) -> Change:
    def change(p: Project, mp: pytest.MonkeyPatch) -> None:
        for c in changes:
            c(p, mp)
    return change


def other_binary(env: str, tool: Callable[[], str]) -> Change:
    """Another binary of the same tool: a stub that runs the real one."""
    def change(p: Project, mp: pytest.MonkeyPatch) -> None:
        stub = p.root.parent / "tools" / Path(tool()).name
        write(stub, f'#!/bin/sh\nexec {tool()} "$@"\n')
        stub.chmod(0o755)
        mp.setenv(env, str(stub))
    return change


def lock_file(p: Project, mp: pytest.MonkeyPatch) -> None:
    write(p.root / "kfdef.lock", yaml.safe_dump({"apiVersion": "kfdeploy.io/v1", "kind": "Lock", "sources": [
        {"url": "https://example.com/base.tar.gz", "sha256": "0" * 64}]}))


def new_version(p: Project, mp: pytest.MonkeyPatch) -> None:
    mp.setattr(kfdeploy, "__version__", kfdeploy.__version__ + "+next")
    render_key.code_identity.cache_clear()


def namespace(p: Project, mp: pytest.MonkeyPatch) -> None:
    p.namespace = "elsewhere"


def engine(p: Project, mp: pytest.MonkeyPatch) -> None:
    mp.setenv("KFDEPLOY_JSONNET", "gojsonnet")


EVERY = {"*"}  # every application of the spec
KUSTOMIZE_CHANGES: list[tuple[str, Change, set[str]]] = [
    ("file in the path", edit_file("release/app/kustomization.yaml", "mode=a", "mode=b"), {"web"}),
    ("file in a folder the path reaches", edit_file("release/base/deployment.yaml", "web:1", "web:2"), {"web"}),
    ("path", set_kustomize(path=["app", "extra"]), {"web"}),
    ("components", set_kustomize(components=["comp"]), {"web"}),
    ("component file", both(set_kustomize(components=["comp"]),
                            edit_file("release/comp/kustomization.yaml", "component: 'on'", "component: 'yes'")), {"web"}),
    ("kustomize binary", other_binary("KFDEPLOY_KUBECTL_BINARY", lambda: find_tool("kubectl")), {"web", "other"}),
    ("lock file", lock_file, {"web", "other"}),
    ("inline patch", set_app("web", patches=[{"patch": {"apiVersion": "apps/v1", "kind": "Deployment",
                                                        "metadata": {"name": "web"}, "spec": {"replicas": 4}}}]),
     {"web"}),
    ("patch file", edit_file("patches/replicas.yaml", "replicas: 2", "replicas: 5"), {"web"}),
    ("images", set_app("web", images=[{"name": "reg.example/web", "newTag": "9"}]), {"web"}),
    ("replicas", set_app("web", replicas=[{"name": "web", "count": 7}]), {"web"}),
    ("postRender file", edit_file("post/render.jsonnet", "objects +", "[objects[0]] +"), {"web"}),
    ("file postRender imports", edit_file("post/helpers.libsonnet", "web-extra", "web-more"), {"web"}),
    ("postRender params", set_app("web", params={"note": "y"}), {"web"}),
    ("jsonnet component file", edit_file("lib/jsonnet/components/base/main.jsonnet", "'-config'", "'-conf'"),
     {"base"}),
    ("file the component imports", append("lib/jsonnet/lib/k.libsonnet", "// edited\n"), {"base"}),
    ("component params", set_app("base", params={"replicas": 2}), {"base"}),
    ("jsonnet evaluator", engine, {"base", "web"}),
    ("metadata.namespace", namespace, EVERY),
    ("kfdeploy version", new_version, EVERY),
]
HELM_CHANGES: list[tuple[str, Change, set[str]]] = [
    ("chart file", edit_file("chart/values.yaml", "replicas", "replicas: 1\nunused"), {"chart"}),
    ("values", set_helm(values={"replicas": 4}), {"chart"}),
    ("values file", edit_file("values.yaml", "2", "5"), {"chart"}),
    ("helm binary", other_binary("KFDEPLOY_HELM_BINARY", lambda: str(helm_binary())), {"chart"}),
    ("platform Kubernetes version", edit_file("lib/platforms/kwok.yaml", "1.36", "1.35"), {"chart"}),
]


@needs_kubectl
def test_an_unchanged_spec_is_served_from_the_cache(project: Project, cache: RenderCache) -> None:
    names = {a["name"] for a in project.doc["spec"]["applications"]}
    assert project.renders(cache) == names
    assert project.renders(cache) == set()
    spec = project.spec()
    assert render(spec, project.library, cache=cache) == Rendered(render(spec, project.library).applications,
                                                                  frozenset(names))


CHANGES = [pytest.param(c, e, id=n) for n, c, e in KUSTOMIZE_CHANGES] + [
    pytest.param(c, e, id=n, marks=needs_helm) for n, c, e in HELM_CHANGES]


@needs_kubectl
@pytest.mark.parametrize(("change", "expected"), CHANGES)
def test_a_changed_input_renders_its_applications_again(project: Project, cache: RenderCache,
                                                        monkeypatch: pytest.MonkeyPatch,
                                                        change: Change, expected: set[str]) -> None:
    project.renders(cache)
    change(project, monkeypatch)
    if expected == EVERY:
        expected = {a["name"] for a in project.doc["spec"]["applications"]}
    try:
        assert project.renders(cache) == expected
    finally:
        render_key.code_identity.cache_clear()


@needs_kubectl
def test_a_folder_no_application_reaches_is_not_part_of_the_key(project: Project, cache: RenderCache,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    project.doc["spec"]["applications"] = [project.app("web")]
    project.renders(cache)
    write(project.root / "release" / "unused" / "notes.yaml", "a: 1\n")
    edit_file("release/other/cm.yaml", "other", "renamed")(project, monkeypatch)
    assert project.renders(cache) == set()


@needs_kubectl
def test_a_repo_archive_is_keyed_by_its_digest(project: Project, cache: RenderCache,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    archive(project.root / "release", project.root / "release.tar.gz")
    project.doc["spec"]["repos"][0]["uri"] = "release.tar.gz"
    project.doc["spec"]["applications"] = [project.app("web")]
    assert project.renders(cache) == {"web"}
    assert project.renders(cache) == set()
    edit_file("release/base/deployment.yaml", "web:1", "web:3")(project, monkeypatch)
    archive(project.root / "release", project.root / "release.tar.gz")
    assert project.renders(cache) == {"web"}


@needs_kubectl
def test_platform_adjustments_and_registry_apply_to_cached_sources(project: Project, cache: RenderCache) -> None:
    project.doc["spec"]["applications"] = [project.app("web")]
    project.renders(cache)
    project.doc["spec"]["imageRegistry"] = "mirror.example/kf"
    spec = project.spec()
    rendered = render(spec, project.library, cache=cache)
    assert rendered.cached == {"web"}
    assert rendered == Rendered(render(spec, project.library).applications, frozenset({"web"}))
    images = [c["image"] for o in rendered.objects if o["kind"] == "Deployment"
              for c in o["spec"]["template"]["spec"]["containers"]]
    assert images and all(i.startswith("mirror.example/kf/") for i in images)


@needs_kubectl
@pytest.mark.parametrize("damage", [
    lambda text: text[: len(text) // 2],
    lambda text: "not json",
    lambda text: json.dumps({"format": 1, "key": "another", "objects": []}),
    lambda text: json.dumps({"format": 0, **{k: v for k, v in json.loads(text).items() if k != "format"}}),
], ids=["truncated", "garbage", "another key", "older format"])
def test_a_broken_entry_is_rendered_again_and_rewritten(project: Project, cache: RenderCache,
                                                        damage: Callable[[str], str]) -> None:
    project.doc["spec"]["applications"] = [project.app("other")]
    project.renders(cache)
    assert cache.root is not None
    entries = list(cache.root.rglob("*.json"))
    assert len(entries) == 1
    good = entries[0].read_text()
    entries[0].write_text(damage(good))
    assert project.renders(cache) == {"other"}
    assert entries[0].read_text() == good
    assert [p.name for p in cache.root.rglob("*") if p.name.startswith(".tmp-")] == []


def add_secret_readers(project: Project) -> tuple[str, str]:
    """Applications that read a generated credential (vault) or a ``spec.secrets`` value (web,
    tanka, chart); the literal secret and the one read from $CACHE_TEST_SECRET."""
    literal, from_env = "literal-top-secret-31337", "env-top-secret-4242"
    comp = project.root / "lib" / "jsonnet" / "components" / "vault"
    write(comp / "main.jsonnet", CREDENTIAL_MAIN)
    write(comp / "component.yaml", yaml.safe_dump({
        "description": "a credential", "params": {"password": {"type": "string", "default": "", "doc": "p"}},
        "credentials": {"password": {"length": 24}}}))
    spec_doc = project.doc["spec"]
    spec_doc["secrets"] = [{"name": "lit", "secretSource": {"literalSource": {"value": literal}}},
                           {"name": "env", "secretSource": {"envSource": {"name": "CACHE_TEST_SECRET"}}}]
    project.app("web")["params"] = {"note": {"secretRef": "lit"}}
    spec_doc["applications"] += [{"name": "vault"},
                                 {"name": "tanka", "jsonnet": {"path": "tanka"}, "params": {"color": {"secretRef": "env"}}}]
    shutil.copytree(FIXTURES / "components" / "hello-tanka", project.root / "tanka")
    if helm_binary() is not None:
        project.app("chart")["helm"]["values"] = {"replicas": 3, "token": {"secretRef": "lit"}}
    return literal, from_env


@needs_kubectl
def test_no_entry_holds_a_secret(project: Project, cache: RenderCache) -> None:
    literal, from_env = add_secret_readers(project)
    spec_doc = project.doc["spec"]
    spec = project.spec()
    generated: list[str] = []
    for _ in range(2):
        credentials = Credentials({})
        session = Session(spec, project.library, env={"CACHE_TEST_SECRET": from_env}, cache=cache)
        rendered = session.render(credentials)
        generated += credentials.values.values()
    secret_apps = {"web", "vault", "tanka"} | ({"chart"} if helm_binary() is not None else set())
    assert rendered.cached == {a["name"] for a in spec_doc["applications"]} - secret_apps
    secrets = [literal, from_env, *generated]
    shown = json.dumps(rendered.objects)
    password = credentials.values[store_key("vault", "password")]
    assert [s for s in [literal, from_env, password] if s not in shown] == []  # they were rendered
    assert cache.root is not None
    stored = "".join(p.read_text() for p in cache.root.rglob("*.json"))
    leaked = [s for s in secrets for form in (s, base64.b64encode(s.encode()).decode()) if form in stored]
    assert stored and leaked == []


def test_no_cache_flag_and_environment_disable_the_cache(tmp_path: Path) -> None:
    assert RenderCache.open(env={"KFDEPLOY_RENDER_CACHE": str(tmp_path)}).root == tmp_path
    assert not RenderCache.open(enabled=False, env={"KFDEPLOY_RENDER_CACHE": str(tmp_path)}).enabled
    assert not RenderCache.open(env={"KFDEPLOY_RENDER_CACHE": str(tmp_path), "KFDEPLOY_NO_CACHE": "1"}).enabled
    assert RenderCache.open(env={"XDG_CACHE_HOME": str(tmp_path)}).root == tmp_path / "kfdeploy" / "render"
    assert RenderCache.open(env={"HOME": str(tmp_path)}).root == tmp_path / ".cache" / "kfdeploy" / "render"


def cli_build(spec: Path, out: Path, *flags: str, env: dict[str, str] | None = None) -> tuple[str, set[str]]:
    """stderr of `kfdeploy build -v` and the applications it really rendered."""
    before = Counter(SOURCE_RENDERS)
    result = CliRunner().invoke(cli, ["build", "-f", str(spec), "-d", str(out), "-v", *flags], env=env)
    assert result.exit_code == 0, result.output
    return result.stderr, {name for name, n in SOURCE_RENDERS.items() if n > before[name]}


def test_cli_says_cached_and_no_cache_renders_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    lib = write_library(tmp_path / "lib", {"alpha": [], "beta": ["alpha"]})
    monkeypatch.setenv("KFDEPLOY_LIBRARY", str(lib.root))
    monkeypatch.setenv("KFDEPLOY_RENDER_CACHE", str(tmp_path / "render-cache"))
    spec = tmp_path / "kfdef.yaml"
    spec.write_text(yaml.safe_dump({"apiVersion": "kfdef.apps.kubeflow.org/v1", "kind": "KfDef",
                                    "metadata": {"name": "t"}, "spec": {"platform": {"kind": "kwok"}}}))
    err, rendered = cli_build(spec, tmp_path / "b1")
    assert rendered == {"alpha", "beta"} and "(cached)" not in err
    err, rendered = cli_build(spec, tmp_path / "b2")
    assert rendered == set()
    assert "alpha: rendered (cached)" in err and "beta: rendered (cached)" in err
    assert (tmp_path / "b1" / "01-alpha.yaml").read_text() == (tmp_path / "b2" / "01-alpha.yaml").read_text()
    assert cli_build(spec, tmp_path / "b3", "--no-cache")[1] == {"alpha", "beta"}
    assert cli_build(spec, tmp_path / "b4", env={"KFDEPLOY_NO_CACHE": "1"})[1] == {"alpha", "beta"}


# -- one render per application per run ------------------------------------------------------

REPO = Path(__file__).resolve().parents[2]


def test_a_session_renders_each_application_once_credentials_after_the_cluster() -> None:
    spec = make_spec({}, REPO)  # the library's default applications
    library = Library.load()
    session = Session(spec, library)
    with_credentials = {n for n, p in session.plans.items() if render_key.needs_cluster_credentials(p)}
    assert with_credentials and with_credentials < set(session.order)
    before = Counter(SOURCE_RENDERS)
    session.prepare()
    prepared = Counter({n: SOURCE_RENDERS[n] - before[n] for n in session.order})
    assert prepared == Counter({n: 1 for n in session.order if n not in with_credentials})
    credentials = Credentials({})
    rendered = session.render(credentials)
    assert Counter({n: SOURCE_RENDERS[n] - before[n] for n in session.order}) == Counter(session.order)
    # The same objects as one render with the same stored credentials.
    again = render(spec, library, credentials=Credentials(credentials.merged()))
    assert rendered.applications == again.applications


def test_prepare_reports_a_render_error_before_any_credential_is_read(tmp_path: Path) -> None:
    lib = write_library(tmp_path / "lib", {"alpha": []})
    write(tmp_path / "lib" / "jsonnet" / "components" / "alpha" / "main.jsonnet", "function(params) [1]\n")
    session = Session(make_spec({}, tmp_path), Library.load(lib.root))
    with pytest.raises(RenderError, match="application 'alpha'"):
        session.prepare()


@needs_kubectl
def test_render_again_renders_only_the_sources_that_read_secrets(project: Project, cache: RenderCache) -> None:
    """A GitOps-managed cluster's plan: the session's render with the cluster's credentials,
    then the same applications as the export renders them (placeholders, masked secrets)."""
    literal, from_env = add_secret_readers(project)
    spec, env = project.spec(), {"CACHE_TEST_SECRET": from_env}
    session = Session(spec, project.library, env=env, cache=cache)
    with pytest.raises(ValueError, match="follows render"):
        session.render_again(Credentials.offline(masked=True))
    real = session.render(Credentials({}))
    readers = {n for n, p in session.plans.items() if render_key.reads_secrets(p)}
    assert readers and readers < set(session.order)
    before = Counter(SOURCE_RENDERS)
    exported = session.render_again(Credentials.offline(masked=True))
    assert Counter({n: SOURCE_RENDERS[n] - before[n] for n in session.order if SOURCE_RENDERS[n] > before[n]}) \
        == Counter(readers)
    assert exported.applications == render(spec, project.library, env=env,
                                           credentials=Credentials.offline(masked=True)).applications
    assert literal in json.dumps(real.objects) and literal not in json.dumps(exported.objects)
    unchanged = set(session.order) - readers
    assert [a.objects for a in exported.applications if a.name in unchanged] \
        == [a.objects for a in real.applications if a.name in unchanged]
