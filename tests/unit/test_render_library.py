"""The real component library: every component renders with its defaults and under every
overlay (no combination skipped), and the default kfdef.yaml renders a full platform."""

from __future__ import annotations

from pathlib import Path

import pytest

from kfdeploy.labels import APPLICATION
from kfdeploy.library import Library, default_root
from kfdeploy.render import process, render
from kfdeploy.spec import KfDef, load_spec
from kfdeploy.workflow.render_verbs import yaml_stream

REPO = Path(__file__).resolve().parents[2]
ROOT = default_root()  # the repository, unless KFDEPLOY_LIBRARY points elsewhere
COMPONENTS = sorted(d.name for d in (ROOT / "jsonnet" / "components").iterdir() if (d / "main.jsonnet").exists())
OVERLAYS = [None] + sorted(p.stem for p in (ROOT / "overlays").glob("*.yaml"))


@pytest.fixture(scope="module")
def library() -> Library:
    return Library.load(ROOT)


def spec_with(overlay: str | None) -> KfDef:
    """Every library component listed, so dependencies resolve; the platform adds nothing."""
    doc = {"apiVersion": "kfdef.apps.kubeflow.org/v1", "kind": "KfDef", "metadata": {"name": "lib"},
           "spec": {"platform": {"kind": "existing", "existing": {"context": "unused"}},
                    "overlays": [overlay] if overlay else [],
                    "applications": [{"name": c} for c in COMPONENTS]}}
    return KfDef.model_validate(doc).with_origin("library-test", REPO)


@pytest.mark.parametrize("overlay", OVERLAYS, ids=[o or "defaults" for o in OVERLAYS])
@pytest.mark.parametrize("component", COMPONENTS)
def test_component_renders(library: Library, component: str, overlay: str | None) -> None:
    app = render(spec_with(overlay), library, only=[component]).applications[0]
    assert app.name == component and app.objects
    for obj in app.objects:
        assert obj["metadata"]["labels"][APPLICATION] == component


def test_subset_renders_like_full(library: Library) -> None:
    """show -a X must print what a full render holds for X: every cluster-scoped CRD kind of
    the library is in the static table, so namespaces never depend on what else is rendered."""
    full = render(spec_with(None), library)
    assert process.cluster_scoped_kinds(full.objects) == process.CLUSTER_SCOPED
    for app in full.applications:
        assert render(spec_with(None), library, only=[app.name]).applications == [app]


@pytest.mark.parametrize("overlay", OVERLAYS[1:])
def test_overlay_changes_something(library: Library, overlay: str) -> None:
    """An overlay that renders the same bytes as the defaults is dead weight (or misspelled)."""
    assert yaml_stream(render(spec_with(overlay), library).objects) != \
        yaml_stream(render(spec_with(None), library).objects)


def test_default_kfdef_renders_full_platform(library: Library) -> None:
    rendered = render(load_spec(REPO / "kfdef.yaml"), library)
    assert len(rendered.applications) >= 15
    assert len(rendered.objects) >= 300
    assert yaml_stream(render(load_spec(REPO / "kfdef.yaml"), library).objects) == yaml_stream(rendered.objects)


PLATFORMS = [("gke", "LoadBalancer", False), ("eks", "LoadBalancer", True), ("kind", "NodePort", True),
             ("minikube", "NodePort", True), ("kwok", "NodePort", True)]


@pytest.mark.parametrize("kind,gateway,plugin", PLATFORMS, ids=[p[0] for p in PLATFORMS])
def test_platform_overlays_and_addons(library: Library, kind: str, gateway: str, plugin: bool) -> None:
    settings = {"gke": {"project": "p", "location": "us-central1-a"}, "eks": {"region": "us-east-1"}}
    doc = {"apiVersion": "kfdef.apps.kubeflow.org/v1", "kind": "KfDef", "metadata": {"name": "p"},
           "spec": {"platform": {"kind": kind, **({kind: settings[kind]} if kind in settings else {})},
                    "applications": [{"name": "istio"}]}}
    rendered = render(KfDef.model_validate(doc).with_origin("kfdef.yaml", REPO), library)
    assert ("nvidia-device-plugin" in rendered.names()) is plugin
    services = [o for o in rendered.applications[0].objects
                if o["kind"] == "Service" and o["metadata"]["name"] == "istio-ingressgateway"]
    assert [s["spec"]["type"] for s in services] == [gateway]
