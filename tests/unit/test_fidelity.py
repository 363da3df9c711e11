"""library compare: assignment of upstream objects, image and CRD schema differences, reading a
build, and the verb end to end over the real library."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from kfdeploy import fidelity
from kfdeploy.cli import cli
from kfdeploy.errors import UsageError
from kfdeploy.fidelity import Rule

REPO = Path(__file__).resolve().parents[2]


def obj(kind: str, name: str, namespace: str = "", api: str = "v1", **extra: Any) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, **({"namespace": namespace} if namespace else {})}
    if "labels" in extra:
        meta["labels"] = extra.pop("labels")
    return {"apiVersion": api, "kind": kind, "metadata": meta, **extra}


def deploy(name: str, namespace: str, image: str) -> dict[str, Any]:
    return obj("Deployment", name, namespace, "apps/v1",
               spec={"template": {"spec": {"containers": [{"name": "c", "image": image}]}}})


def crd(name: str, group: str, schema: dict[str, Any]) -> dict[str, Any]:
    return obj("CustomResourceDefinition", name, api="apiextensions.k8s.io/v1",
               spec={"group": group, "versions": [{"name": "v1", "schema": {"openAPIV3Schema": schema}}]})


OPEN = {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
TYPED = {"type": "object", "properties": {"spec": {"type": "object", "properties": {"replicas": {"type": "integer"}}}}}
RULES = (Rule("web", names=r"web-.*"), Rule("db", namespaces=("data",)), Rule("db", labels={"tier": "d.*"}))


@pytest.mark.parametrize(("upstream", "component"), [
    (obj("Service", "web-ui", "apps"), "web"),
    (obj("Service", "anything", "data"), "db"),
    (obj("Namespace", "data"), "db"),
    (obj("ConfigMap", "x", "apps", labels={"tier": "db"}), "db"),
    (obj("ConfigMap", "x", "apps", labels={"tier": "web"}), fidelity.UNASSIGNED),
], ids=["name", "namespace", "namespace-object", "label", "unclaimed"])
def test_rules_assign_first_match(upstream: dict[str, Any], component: str) -> None:
    assert fidelity.assign(upstream, RULES) == component


def test_identity_wins_over_rules_and_reports_missing_and_extra() -> None:
    # The library renders web-db in "web": the rule for namespace data must not claim it.
    library = {"web": [obj("Service", "web-db", "data"), obj("Service", "web-only", "apps")],
               "db": [obj("Service", "mysql", "data")]}
    upstream = [obj("Service", "web-db", "data"), obj("Service", "mysql", "data"),
                obj("Secret", "mysql-pass", "data")]
    result = fidelity.compare(library, upstream, rules=RULES)
    by = {d.name: d for d in result.components}
    assert by["web"].upstream == 1 and by["web"].missing == [] and by["web"].extra == ["Service/apps/web-only"]
    assert by["db"].missing == ["Secret/data/mysql-pass"] and by["db"].extra == []
    assert result.totals()["missing"] == 1 and result.totals()["extra"] == 1


def test_generated_name_suffix_is_not_a_difference() -> None:
    library = {"db": [obj("ConfigMap", "db-config", "data")]}
    upstream = [obj("ConfigMap", "db-config-9c2fbg2gdc", "data"), obj("ConfigMap", "db-settings-v1", "data")]
    diff = fidelity.compare(library, upstream, rules=RULES).components[0]
    assert diff.extra == [] and diff.missing == ["ConfigMap/data/db-settings-v1"]


def test_images_pair_by_repository_name() -> None:
    library = {"web": [deploy("web-a", "apps", "docker.io/x/web:1.0"), deploy("web-b", "apps", "same:1")]}
    upstream = [deploy("web-a", "apps", "ghcr.io/x/web:1.1"), deploy("web-b", "apps", "same:1"),
                deploy("web-c", "apps", "quay.io/y/proxy:2")]
    images = fidelity.compare(library, upstream, rules=RULES).components[0].images
    assert images == [{"library": "docker.io/x/web:1.0", "upstream": "ghcr.io/x/web:1.1"},
                      {"library": None, "upstream": "quay.io/y/proxy:2"}]


@pytest.mark.parametrize(("mine", "theirs", "reported"), [
    (OPEN, TYPED, True), (TYPED, TYPED, False), (OPEN, OPEN, False), (TYPED, OPEN, False),
], ids=["open-vs-typed", "both-typed", "both-open", "library-richer"])
def test_open_crd_reported_only_where_upstream_is_typed(mine: Any, theirs: Any, reported: bool) -> None:
    library = {"web": [crd("webs.example.io", "example.io", mine)]}
    upstream = [crd("webs.example.io", "example.io", theirs)]
    rules = (Rule("web", groups=r"example\.io"),)
    assert fidelity.compare(library, upstream, rules=rules).components[0].open_crds == \
        (["webs.example.io@v1"] if reported else [])


def test_load_upstream_file_dir_and_lists(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(yaml.safe_dump_all([obj("Service", "s", "n"), None]))
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.yml").write_text(yaml.safe_dump({"apiVersion": "v1", "kind": "List",
                                                            "items": [obj("ConfigMap", "c", "n")]}))
    (tmp_path / "notes.txt").write_text("not yaml: [")
    assert sorted(o["kind"] for o in fidelity.load_upstream(tmp_path)) == ["ConfigMap", "Service"]
    assert len(fidelity.load_upstream(tmp_path / "a.yaml")) == 1


@pytest.mark.parametrize("content", [None, "kind: [", "just: text\n"], ids=["missing", "bad-yaml", "no-objects"])
def test_load_upstream_errors_name_the_path(tmp_path: Path, content: str | None) -> None:
    path = tmp_path / "up.yaml"
    if content is not None:
        path.write_text(content)
    with pytest.raises(UsageError, match="up.yaml"):
        fidelity.load_upstream(path)


def test_compare_verb_over_the_real_library(tmp_path: Path) -> None:
    """An 'upstream' made of the library's own render, one object dropped and one added, shows
    exactly that difference, in the component that renders the dropped object."""
    runner = CliRunner()
    shown = runner.invoke(cli, ["show", "-f", str(REPO / "kfdef.yaml"), "-o", "json"])
    assert shown.exit_code == 0, shown.output
    objects = json.loads(shown.output)
    dropped = next(o for o in objects if o["kind"] == "Service")
    added = obj("ConfigMap", "only-upstream", dropped["metadata"]["namespace"],
                labels={"app.kubernetes.io/name": "x"})
    upstream = [o for o in objects if o is not dropped] + [added]
    (tmp_path / "up.yaml").write_text(yaml.safe_dump_all(upstream))
    result = runner.invoke(cli, ["library", "compare", "-f", str(REPO / "kfdef.yaml"),
                                 "--against", str(tmp_path / "up.yaml"), "-o", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    owner = dropped["metadata"]["labels"]["kfdeploy.io/application"]
    by = {c["name"]: c for c in data["components"]}
    name = f"Service/{dropped['metadata']['namespace']}/{dropped['metadata']['name']}"
    assert by[owner]["extra"] == [name]
    assert data["totals"]["extra"] == 1 and data["totals"]["imagesDiffer"] == 0
    assert sum(len(c["missing"]) for c in data["components"]) + data["totals"]["upstreamOnly"] == 1
