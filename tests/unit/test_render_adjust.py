"""Platform adjustments (render.adjust): declared per platform, applied to every source, reported."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from kfdeploy.errors import RenderError
from kfdeploy.library import Library
from kfdeploy.render import adjust, render
from kfdeploy.spec import KfDef

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures"
HOOK_KINDS = ("MutatingWebhookConfiguration", "ValidatingWebhookConfiguration")


def hooks(kind: str, *policies: str | None) -> dict[str, Any]:
    webhooks = [{"name": f"h{i}.example", **({"failurePolicy": p} if p else {})} for i, p in enumerate(policies)]
    return {"apiVersion": "admissionregistration.k8s.io/v1", "kind": kind, "metadata": {"name": "w"},
            "webhooks": webhooks}


@pytest.mark.parametrize("kind", HOOK_KINDS)
def test_failure_policy_set_on_every_webhook_and_each_change_reported(kind: str) -> None:
    source = hooks(kind, "Fail", None, "Ignore")
    out, notes = adjust.adjust([source], {"webhookFailurePolicy": "Ignore"}, "kwok", "app")
    assert [h["failurePolicy"] for h in out[0]["webhooks"]] == ["Ignore"] * 3
    assert [n.change for n in notes] == ["webhook h0.example failurePolicy Fail -> Ignore",
                                         "webhook h1.example failurePolicy Fail -> Ignore"]
    assert {(n.platform, n.application, n.object) for n in notes} == {("kwok", "app", f"{kind}/w")}
    assert source == hooks(kind, "Fail", None, "Ignore")  # input not mutated


def test_no_rules_change_nothing() -> None:
    objs = [hooks("ValidatingWebhookConfiguration", "Fail"), {"apiVersion": "v1", "kind": "ConfigMap",
                                                               "metadata": {"name": "c"}}]
    assert adjust.adjust(objs, {}, "existing", "app") == (objs, [])


def test_other_kinds_untouched() -> None:
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "webhooks": "not mine"}
    assert adjust.adjust([cm], {"webhookFailurePolicy": "Ignore"}, "kwok", "app") == ([cm], [])


@pytest.mark.parametrize("rules,fragment", [
    ({"webhookFailurePolicyy": "Ignore"}, "adjust.webhookFailurePolicyy: unknown rule; rules: webhookFailurePolicy"),
    ({"webhookFailurePolicy": "ignore"}, "adjust.webhookFailurePolicy: 'ignore' is not one of Ignore, Fail"),
])
def test_bad_rules_name_the_platform_file(rules: dict[str, Any], fragment: str) -> None:
    with pytest.raises(RenderError, match="platforms/x.yaml: " + fragment):
        adjust.check(rules, "platforms/x.yaml")


def spec_on(platform: dict[str, Any]) -> KfDef:
    doc = {"apiVersion": "kfdef.apps.kubeflow.org/v1", "kind": "KfDef", "metadata": {"name": "t"},
           "spec": {"platform": platform, "applications": [
               {"name": "demo", "params": {"namespace": "demo"}, "jsonnet": {"path": "components/selects-component"}}]}}
    return KfDef.model_validate(doc).with_origin("kfdef.yaml", FIXTURES)


def test_only_kwok_adjusts_and_the_render_says_so() -> None:
    """The real platform files: kwok makes webhooks Ignore, every other platform keeps the source's."""
    library = Library.load()
    assert {k for k, p in library.platforms.items() if p.adjust} == {"kwok"}
    kwok = render(spec_on({"kind": "kwok"}), library)
    hook = next(o for o in kwok.objects if o["kind"] == "ValidatingWebhookConfiguration")
    assert [h["failurePolicy"] for h in hook["webhooks"]] == ["Ignore"]
    assert [a.text() for a in kwok.adjustments] == [
        "ValidatingWebhookConfiguration/demo-webhook (demo): webhook webhook.demo.example failurePolicy Fail -> Ignore"]
    other = render(spec_on({"kind": "existing", "existing": {"context": "unused"}}), library)
    hook = next(o for o in other.objects if o["kind"] == "ValidatingWebhookConfiguration")
    assert [h["failurePolicy"] for h in hook["webhooks"]] == ["Fail"] and other.adjustments == []
