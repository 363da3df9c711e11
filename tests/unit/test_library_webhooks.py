"""Admission webhooks of the built-in library keep upstream's failurePolicy on every real platform.

An `Ignore` webhook that is down silently skips sidecar injection, PodDefaults or job validation;
upstream uses `Fail` for all but the KFP cache webhook (caching is an optimisation). kwok is the one
exception, through the platform adjustment shared with every other source (render.adjust): its
simulated pods cannot answer admission calls.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from kfdeploy.library import Library, default_root
from kfdeploy.render import Rendered, render
from kfdeploy.spec import KfDef

REPO = Path(__file__).resolve().parents[2]
ROOT = default_root()
COMPONENTS = sorted(d.name for d in (ROOT / "jsonnet" / "components").iterdir() if (d / "main.jsonnet").exists())
SETTINGS = {"gke": {"project": "p", "location": "us-central1-a"}, "eks": {"region": "us-east-1"},
            "existing": {"context": "unused"}}
WEBHOOK_KINDS = ("MutatingWebhookConfiguration", "ValidatingWebhookConfiguration")
# Upstream (kubeflow/manifests 1.10.2) leaves failurePolicy Ignore on the KFP cache webhook only.
UPSTREAM_IGNORE = re.compile(r"^cache-server\.[^.]+\.svc$")


@pytest.fixture(scope="module")
def library() -> Library:
    return Library.load(ROOT)


def rendered_on(library: Library, platform: str) -> Rendered:
    doc = {"apiVersion": "kfdef.apps.kubeflow.org/v1", "kind": "KfDef", "metadata": {"name": "wh"},
           "spec": {"platform": {"kind": platform, **({platform: SETTINGS[platform]} if platform in SETTINGS else {})},
                    "applications": [{"name": c} for c in COMPONENTS]}}
    return render(KfDef.model_validate(doc).with_origin("kfdef.yaml", REPO), library)


def webhooks(objects: list[dict[str, Any]]) -> dict[tuple[str, str, str], str]:
    return {(o["kind"], o["metadata"]["name"], h["name"]): h.get("failurePolicy", "Fail")
            for o in objects if o["kind"] in WEBHOOK_KINDS for h in o["webhooks"]}


@pytest.mark.parametrize("platform", ["gke", "eks", "kind", "minikube", "existing"])
def test_webhooks_keep_upstreams_failure_policy(library: Library, platform: str) -> None:
    rendered = rendered_on(library, platform)
    hooks = webhooks(rendered.objects)
    expected = {key: "Ignore" if UPSTREAM_IGNORE.match(key[2]) else "Fail" for key in hooks}
    assert hooks == expected
    assert len(hooks) >= 20 and rendered.adjustments == []


def test_kwok_applies_ignore_through_the_platform_adjustment(library: Library) -> None:
    rendered = rendered_on(library, "kwok")
    hooks = webhooks(rendered.objects)
    assert set(hooks.values()) == {"Ignore"}
    adjusted = {a.change.split()[1] for a in rendered.adjustments}
    assert adjusted == {name for (_, _, name) in webhooks(rendered_on(library, "existing").objects)
                        if not UPSTREAM_IGNORE.match(name)}
