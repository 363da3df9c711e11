"""Remote bases resolved by kfdeploy: fetched from https://github.com/... (served on loopback
through HTTPS_PROXY with a test CA), pinned in the lock, cached, confined, and rendered with
kustomize's network closed.

The fixture repositories are small kustomizations of our own that reproduce the patterns the
official releases use: a git-style base with ``?ref=`` and no ``//`` (argo-workflows), a ``//``
subfolder whose kustomization reaches ``../`` siblings (LeaderWorkerSet), a release asset yaml in
``resources:`` (JobSet), and a nested remote base written without a scheme.
"""

# ruff: noqa: F401, F811 (the network fixture is imported from fakes.https_proxy, used as a parameter)
from __future__ import annotations

import io
import tarfile
from pathlib import Path
from typing import Any

import pytest
import yaml
from fakes.archives import kustomization, tarball
from fakes.https_proxy import Network, network
from test_kustomize import needs_kubectl
from test_render import make_spec, write_library

from kfdeploy.errors import RenderError
from kfdeploy.library import Library
from kfdeploy.render import render
from kfdeploy.render.lock import lock_path

WORKFLOWS = "https://github.com/example-org/workflows/archive/v1.2.3.tar.gz"
WORKERS = "https://github.com/example-org/workers/archive/v0.1.0.tar.gz"
COMMON = "https://github.com/example-org/common/archive/v2.tar.gz"
ASSET = "https://github.com/example-org/sets/releases/download/v0.9.0/manifests.yaml"


def config_map(name: str) -> str:
    return yaml.safe_dump({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"k": name}})


UPSTREAM = {
    WORKFLOWS: tarball("workflows-1.2.3", {
        "manifests/base/crds/kustomization.yaml": kustomization("crd.yaml"),
        "manifests/base/crds/crd.yaml": config_map("workflows-crd"),
        "manifests/base/controller/kustomization.yaml": kustomization("deploy.yaml"),
        "manifests/base/controller/deploy.yaml": config_map("workflows-controller"),
        "cmd/main.go": "package main\n"}),
    WORKERS: tarball("workers-0.1.0", {
        "config/default/kustomization.yaml": kustomization(
            "../crd", "../manager", "github.com/example-org/common//base?ref=v2", namePrefix="workers-",
            patches=[{"path": "patch.yaml"}]),
        "config/default/patch.yaml": yaml.safe_dump({"apiVersion": "v1", "kind": "ConfigMap",
                                                     "metadata": {"name": "manager"}, "data": {"patched": "yes"}}),
        "config/crd/kustomization.yaml": kustomization("crd.yaml"),
        "config/crd/crd.yaml": config_map("crd"),
        "config/manager/kustomization.yaml": kustomization("manager.yaml"),
        "config/manager/manager.yaml": config_map("manager")}),
    COMMON: tarball("common-2", {"base/kustomization.yaml": kustomization("cm.yaml"),
                                 "base/cm.yaml": config_map("common")}),
    ASSET: (config_map("sets-a") + "---\n" + config_map("sets-b")).encode(),
}

RELEASE = {
    "apps/pipeline/kustomization.yaml": kustomization(
        "https://github.com/example-org/workflows/manifests/base/crds?ref=v1.2.3",
        "https://github.com/example-org/workflows/manifests/base/controller?ref=v1.2.3", "own.yaml"),
    "apps/pipeline/own.yaml": config_map("pipeline-own"),
    "apps/trainer/kustomization.yaml": kustomization(ASSET, "https://github.com/example-org/workers//config/default?ref=v0.1.0"),
}


def write_tree(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def serve_upstream(net: Network, skip: tuple[str, ...] = (), prefix: str = "") -> None:
    for url, body in UPSTREAM.items():
        if url not in skip:
            net.origin.add(url.replace("https://github.com/", prefix) if prefix else url, body)


APPS = [{"name": "pipeline", "kustomize": {"repo": "release", "path": "apps/pipeline"}},
        {"name": "trainer", "kustomize": {"repo": "release", "path": "apps/trainer"}}]


@pytest.fixture
def lib(tmp_path: Path) -> Library:
    return write_library(tmp_path / "lib", {"unused": []})


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A spec folder with the release as a local folder repo."""
    write_tree(tmp_path / "project" / "release", RELEASE)
    return tmp_path / "project"


def spec_in(project: Path, apps: list[dict[str, Any]] = APPS) -> Any:
    return make_spec({"repos": [{"name": "release", "uri": "release"}], "applications": apps}, project)


def names(rendered: Any, app: str) -> list[str]:
    return sorted(o["metadata"]["name"] for a in rendered.applications if a.name == app for o in a.objects)


@needs_kubectl
def test_git_style_file_and_nested_remote_bases_render_and_are_locked(network: Network, project: Path,
                                                                     lib: Library) -> None:
    serve_upstream(network)
    before = {p: p.read_bytes() for p in (project / "release").rglob("*") if p.is_file()}
    rendered = render(spec_in(project), lib)
    assert names(rendered, "pipeline") == ["pipeline-own", "workflows-controller", "workflows-crd"]
    assert names(rendered, "trainer") == ["sets-a", "sets-b", "workers-common", "workers-crd", "workers-manager"]
    manager = next(o for o in rendered.objects if o["metadata"]["name"] == "workers-manager")
    assert manager["data"] == {"k": "manager", "patched": "yes"}  # the base's own local patch applied
    lock = yaml.safe_load(lock_path(project / "kfdef.yaml").read_text())
    assert lock["kind"] == "Lock" and [s["url"] for s in lock["sources"]] == sorted(UPSTREAM)
    assert all(network.origin.got(url) == 1 for url in UPSTREAM)  # one archive per repo@ref
    assert {p: p.read_bytes() for p in (project / "release").rglob("*") if p.is_file()} == before
    cached = b"".join(p.read_bytes() for p in network.cache.rglob("kustomization.yaml"))
    assert b"github.com/example-org/common//base?ref=v2" in cached  # cache entries are never rewritten


@needs_kubectl
def test_locked_and_cached_renders_fetch_nothing_and_an_empty_cache_is_verified(
        network: Network, project: Path, lib: Library, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    serve_upstream(network)
    first = render(spec_in(project), lib)
    requests = len(network.origin.requests)
    assert render(spec_in(project), lib).objects == first.objects
    assert len(network.origin.requests) == requests  # lock + cache: nothing fetched again
    monkeypatch.setenv("KFDEPLOY_REPO_CACHE", str(tmp_path / "other-cache"))
    assert render(spec_in(project), lib).objects == first.objects  # fetched again, verified
    assert len(network.origin.requests) == 2 * requests


@needs_kubectl
def test_a_download_that_differs_from_the_lock_names_url_and_both_digests(
        network: Network, project: Path, lib: Library, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    serve_upstream(network)
    render(spec_in(project), lib)
    lock_file = lock_path(project / "kfdef.yaml")
    locked = yaml.safe_load(lock_file.read_text())
    pinned = next(s["sha256"] for s in locked["sources"] if s["url"] == COMMON)
    network.origin.add(COMMON, tarball("common-2", {"base/kustomization.yaml": kustomization("cm.yaml"),
                                                    "base/cm.yaml": config_map("changed-upstream")}))
    monkeypatch.setenv("KFDEPLOY_REPO_CACHE", str(tmp_path / "empty-cache"))
    with pytest.raises(RenderError) as err:
        render(spec_in(project), lib)
    text = err.value.message
    assert COMMON in text and pinned in text and str(lock_file) in text
    assert any(len(w) == 64 and w != pinned for w in text.replace(",", " ").split())  # the new digest too
    assert yaml.safe_load(lock_file.read_text()) == locked  # the lock is not changed


@needs_kubectl
@pytest.mark.parametrize("how", ["offline-flag", "network-down"])
def test_missing_remote_base_without_network_names_url_and_fix(network: Network, project: Path, lib: Library,
                                                               monkeypatch: pytest.MonkeyPatch, how: str) -> None:
    if how == "offline-flag":
        monkeypatch.setenv("KFDEPLOY_OFFLINE", "1")
    else:
        network.down()
    with pytest.raises(RenderError) as err:
        render(spec_in(project, APPS[:1]), lib)
    assert WORKFLOWS in err.value.message and "application 'pipeline'" in err.value.message
    assert err.value.hint and "kfdeploy vendor --import" in err.value.hint
    assert not network.origin.requests


@needs_kubectl
def test_rewrite_sends_every_url_to_the_artifact_proxy_and_the_lock_keeps_the_originals(
        network: Network, project: Path, lib: Library, monkeypatch: pytest.MonkeyPatch) -> None:
    serve_upstream(network, prefix="https://artifacts.corp.example/gh/")
    monkeypatch.setenv("KFDEPLOY_URL_REWRITE", "https://github.com/=https://artifacts.corp.example/gh/")
    rendered = render(spec_in(project), lib)
    assert "workers-common" in names(rendered, "trainer")
    assert all(r.startswith("artifacts.corp.example/gh/") for r in network.origin.requests)
    lock = yaml.safe_load(lock_path(project / "kfdef.yaml").read_text())
    assert [s["url"] for s in lock["sources"]] == sorted(UPSTREAM)


@pytest.mark.parametrize("kustomization_text, words", [
    (kustomization("HTTP://example.com/x.yaml"), "uses http"),
    (kustomization("own.yaml", patches=[{"path": "http://example.com/p.yaml"}]), "uses http"),
    (kustomization("git@github.com:org/repo.git/base"), "uses git@"),
    (kustomization("https://git.example.com/org/repo//base?ref=v1"), "git repository on git.example.com"),
    (kustomization("own.yaml", configMapGenerator=[{"name": "c", "files": ["https://example.com/f"]}]),
     "does not fetch this field"),
], ids=["upper-case-http", "http-patch", "ssh", "git-elsewhere", "generator-url"])
def test_remote_references_kfdeploy_will_not_fetch_are_refused_before_anything_runs(
        network: Network, project: Path, lib: Library, kustomization_text: str, words: str) -> None:
    write_tree(project / "release", {"apps/pipeline/kustomization.yaml": kustomization_text})
    with pytest.raises(RenderError) as err:
        render(spec_in(project, APPS[:1]), lib)
    assert words in err.value.message and "apps/pipeline/kustomization.yaml" in err.value.message
    assert not network.origin.requests


def test_redirect_from_https_to_http_is_refused(network: Network, project: Path, lib: Library) -> None:
    def to_http(handler: Any) -> None:
        handler.send_response(302)
        handler.send_header("Location", "http://github.com/example-org/workflows/plain.tar.gz")
        handler.end_headers()

    network.origin.handle(WORKFLOWS, to_http)
    with pytest.raises(RenderError) as err:
        render(spec_in(project, APPS[:1]), lib)
    assert "http://github.com/example-org/workflows/plain.tar.gz" in err.value.message
    assert "not https; refused" in err.value.message


@pytest.mark.parametrize("reference", ["../../../outside", "../../../../../../../../../../../../etc"],
                         ids=["sibling-of-repo", "many-dotdots"])
def test_a_repo_kustomization_may_not_reach_outside_the_repo(tmp_path: Path, project: Path, lib: Library,
                                                             reference: str) -> None:
    write_tree(project, {"outside/kustomization.yaml": kustomization("secret.yaml"),
                         "outside/secret.yaml": config_map("local-secret")})
    write_tree(project / "release", {"apps/pipeline/kustomization.yaml": kustomization(reference)})
    with pytest.raises(RenderError) as err:
        render(spec_in(project, APPS[:1]), lib)
    text = err.value.message
    assert "apps/pipeline/kustomization.yaml" in text and repr(reference) in text and "outside its tree" in text


@needs_kubectl
def test_a_fetched_remote_base_may_not_reach_outside_its_archive(network: Network, project: Path,
                                                                 lib: Library) -> None:
    network.origin.add(COMMON, tarball("common-2", {"base/kustomization.yaml": kustomization("../../../../x")}))
    write_tree(project / "release", {"apps/pipeline/kustomization.yaml":
                                     kustomization("https://github.com/example-org/common//base?ref=v2")})
    with pytest.raises(RenderError) as err:
        render(spec_in(project, APPS[:1]), lib)
    assert "'../../../../x'" in err.value.message and "outside its tree" in err.value.message


@pytest.mark.parametrize("written, url, folder, is_file", [
    ("https://github.com/argoproj/argo-workflows/manifests/base/crds/minimal?ref=v3.7.3",
     "https://github.com/argoproj/argo-workflows/archive/v3.7.3.tar.gz", "manifests/base/crds/minimal", False),
    ("https://github.com/kubernetes-sigs/lws//config/default?ref=v0.7.0",
     "https://github.com/kubernetes-sigs/lws/archive/v0.7.0.tar.gz", "config/default", False),
    ("github.com/org/repo//deploy/base?ref=release-1.2", "https://github.com/org/repo/archive/release-1.2.tar.gz",
     "deploy/base", False),
    ("https://github.com/org/repo.git//deploy?ref=v1", "https://github.com/org/repo/archive/v1.tar.gz", "deploy", False),
    ("HTTPS://GitHub.com/org/repo/base?version=v2", "https://github.com/org/repo/archive/v2.tar.gz", "base", False),
    ("https://github.com/org/repo//base", "https://github.com/org/repo/archive/HEAD.tar.gz", "base", False),
    ("https://gitlab.com/group/proj//k8s?ref=v3", "https://gitlab.com/group/proj/-/archive/v3/proj-v3.tar.gz",
     "k8s", False),
    ("https://github.com/kubernetes-sigs/jobset/releases/download/v0.10.1/manifests.yaml",
     "https://github.com/kubernetes-sigs/jobset/releases/download/v0.10.1/manifests.yaml", "", True),
    ("https://raw.githubusercontent.com/org/repo/v1/deploy.yaml",
     "https://raw.githubusercontent.com/org/repo/v1/deploy.yaml", "", True),
], ids=["argo-no-double-slash", "lws-double-slash", "no-scheme", "dot-git", "upper-case-version", "no-ref",
        "gitlab", "release-asset", "raw-file"])
def test_remote_references_parse_as_kustomize_reads_them(written: str, url: str, folder: str, is_file: bool) -> None:
    from kfdeploy.render.remote import is_remote, parse

    assert is_remote(written)
    remote = parse(written, "k")
    assert (remote.url, remote.folder, remote.is_file) == (url, folder, is_file)


@pytest.mark.parametrize("local", ["base", "../common/base", "deploy.yaml", "sub/dir?x", "./github.com-notes/"])
def test_local_references_are_not_remote(local: str) -> None:
    from kfdeploy.render.remote import is_remote

    assert not is_remote(local)


@needs_kubectl
def test_a_folder_beside_the_spec_may_pull_remote_bases_too(network: Network, project: Path, lib: Library) -> None:
    serve_upstream(network)
    write_tree(project, {"mine/kustomization.yaml": kustomization("../shared", ASSET),
                         "shared/kustomization.yaml": kustomization("cm.yaml"),
                         "shared/cm.yaml": config_map("shared")})
    spec = make_spec({"applications": [{"name": "mine", "kustomize": {"path": "mine"}}]}, project)
    assert names(render(spec, lib), "mine") == ["sets-a", "sets-b", "shared"]
    assert network.origin.got(ASSET) == 1
