"""kfdeploy upgrade: a spec written by init --manifests for fixture release v1, customized by
hand, rewritten for release v2 (where the pipeline folder moved, the trainer moved under another
name and the pipeline UI is gone). Customizations carry across, what cannot is named, comments
and the user's own applications stay, and nothing is written without --yes or a terminal."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from test_kustomize import REPOS, needs_kubectl

from kfdeploy.cli import cli
from kfdeploy.spec.textedit import SpecText

CUSTOMIZED = """\
    # my mirror of the api server (kept across upgrades)
    images: [{name: registry.example/pipeline/api-server, newName: mirror.example/api-server}]
    replicas: [{name: ml-pipeline, count: 2}]
    patches:
    - target: {kind: Service, name: ml-pipeline}
      patch: {metadata: {annotations: {patched: "yes"}}}
    - target: {kind: Deployment, name: ml-pipeline-ui}
      patch: {spec: {replicas: 3}}
    postRender: team.jsonnet
    params: {team: ml}
"""
MINE = """\
  # my own application, beside the release
  - name: extras
    kustomize: {path: extras}
    dependsOn: [pipeline]
"""


def release(tmp_path: Path, source: str, name: str, move_pipeline: bool = False) -> Path:
    root = tmp_path / name
    shutil.copytree(REPOS / source, root)
    if move_pipeline:  # as 26.03 moved applications/pipeline/upstream/... to applications/pipeline/overlays
        (root / "apps" / "pipeline" / "upstream").rename(root / "apps" / "pipeline" / "overlays")
        example = root / "example" / "kustomization.yaml"
        example.write_text(example.read_text().replace("apps/pipeline/upstream", "apps/pipeline/overlays"))
    return root


def invoke(*args: str) -> Any:
    return CliRunner().invoke(cli, list(args))


@pytest.fixture
def customized(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """init of release v1, then the user's customizations of the pipeline and an application of their own."""
    monkeypatch.setenv("KFDEPLOY_REPO_CACHE", str(tmp_path / "cache"))
    monkeypatch.chdir(tmp_path)
    release(tmp_path, "release-v1", "manifests-1.0")
    result = invoke("init", "--manifests", "manifests-1.0", "-o", "kfdef.yaml", "--name", "kf")
    assert result.exit_code == 0, result.output
    spec = tmp_path / "kfdef.yaml"
    lines = spec.read_text().splitlines(keepends=True)
    at = next(i for i, line in enumerate(lines) if line.startswith("  - name: pipeline"))
    lines.insert(at + 3, CUSTOMIZED)
    spec.write_text("".join(lines) + MINE)
    (tmp_path / "team.jsonnet").write_text(
        "function(objects, params) [o + {metadata+: {labels+: {team: params.team}}} for o in objects]\n")
    (tmp_path / "extras").mkdir()
    (tmp_path / "extras" / "kustomization.yaml").write_text("resources: [cm.yaml]\n")
    (tmp_path / "extras" / "cm.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: extras, "
                                                 "namespace: kubeflow}\ndata: {a: b}\n")
    assert invoke("validate", "-f", "kfdef.yaml").exit_code == 0
    return spec


def apps_of(spec: Path) -> dict[str, dict[str, Any]]:
    return {a["name"]: a for a in yaml.safe_load(spec.read_text())["spec"]["applications"]}


@needs_kubectl
def test_without_yes_or_terminal_nothing_is_written(customized: Path, tmp_path: Path) -> None:
    release(tmp_path, "release-v2", "manifests-2.0", move_pipeline=True)
    before = customized.read_text()
    result = invoke("upgrade", "-f", "kfdef.yaml", "--to", "manifests-2.0")
    assert result.exit_code == 3
    assert "--yes" in result.output and "-uri: manifests-1.0" in result.output.replace("    ", "")
    assert customized.read_text() == before


@needs_kubectl
def test_upgrade_moves_paths_and_keeps_customizations(customized: Path, tmp_path: Path) -> None:
    release(tmp_path, "release-v2", "manifests-2.0", move_pipeline=True)
    before = apps_of(customized)
    result = invoke("upgrade", "-f", "kfdef.yaml", "--to", "manifests-2.0", "--yes", "-o", "json")
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["written"] and out["added"] == ["training"] and out["removed"] == ["trainer"]
    text = customized.read_text()
    after = apps_of(customized)
    assert yaml.safe_load(text)["spec"]["repos"] == [{"name": "manifests", "uri": "manifests-2.0"}]
    pipeline = after["pipeline"]
    assert pipeline["kustomize"]["path"] == "apps/pipeline/overlays"
    assert pipeline["kustomize"]["components"] == ["common/security/baseline"]
    for kept in ("images", "replicas", "postRender", "params"):
        assert pipeline[kept] == before["pipeline"][kept], kept
    # the UI patch's target is gone in v2: named with its fix, left out; the Service patch stays
    assert [p["target"]["kind"] for p in pipeline["patches"]] == ["Service"]
    [ui] = [n for n in out["notices"] if "patches[1]" in n]
    assert "ml-pipeline-ui" in ui and "Fix:" in ui
    assert any("'trainer' is removed" in n for n in out["notices"])
    assert after["extras"] == before["extras"]  # the user's own application, untouched
    assert "# my mirror of the api server (kept across upgrades)" in text
    assert "# my own application, beside the release" in text
    assert invoke("validate", "-f", "kfdef.yaml").exit_code == 0
    shown = invoke("show", "-f", "kfdef.yaml", "-a", "pipeline", "-o", "json")
    assert shown.exit_code == 0, shown.output
    [api] = [o for o in json.loads(shown.stdout) if o["kind"] == "Deployment" and o["metadata"]["name"] == "ml-pipeline"]
    assert api["spec"]["replicas"] == 2 and api["metadata"]["labels"]["team"] == "ml"
    assert api["spec"]["template"]["spec"]["containers"][0]["image"] == "mirror.example/api-server:2.1.0"


@needs_kubectl
def test_a_second_upgrade_to_the_same_release_changes_nothing(customized: Path, tmp_path: Path) -> None:
    release(tmp_path, "release-v2", "manifests-2.0", move_pipeline=True)
    assert invoke("upgrade", "-f", "kfdef.yaml", "--to", "manifests-2.0", "--yes").exit_code == 0
    written = customized.read_text()
    again = invoke("upgrade", "-f", "kfdef.yaml", "--to", "manifests-2.0", "--yes")
    assert again.exit_code == 0 and "nothing to change" in again.output
    assert customized.read_text() == written


def test_text_edits_keep_everything_else() -> None:
    text = ("spec:\n  # repos\n  repos:\n  - name: m   # the release\n    uri: a\n\n  # apps\n  applications:\n"
            "  - name: x\n    kustomize: {path: p}\n    # note\n    params:\n      a: 1\n  - name: y\n")
    edit = SpecText(text)
    edit.replace(("spec", "repos", 0, "uri"), ["uri: b"])
    edit.insert_after(("spec", "repos", 0, "uri"), ["sha256: c"])
    edit.replace(("spec", "applications", 0, "kustomize"), ["kustomize: {path: q}", "dependsOn: [y]"])
    edit.delete(("spec", "applications", 1))
    assert edit.text() == ("spec:\n  # repos\n  repos:\n  - name: m   # the release\n    uri: b\n    sha256: c\n\n"
                           "  # apps\n  applications:\n  - name: x\n    kustomize: {path: q}\n    dependsOn: [y]\n"
                           "    # note\n    params:\n      a: 1\n")


@needs_kubectl
def test_the_splits_own_patch_survives_an_upgrade_that_needs_it_again(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """A patch init wrote (the example sets a value across folders) is kept when the new release
    needs the same one, and replaced when it needs another value."""
    from test_manifests_split import cross_folder_release
    monkeypatch.setenv("KFDEPLOY_REPO_CACHE", str(tmp_path / "cache"))
    monkeypatch.chdir(tmp_path)
    cross_folder_release(tmp_path / "r1")
    shutil.copytree(tmp_path / "r1", tmp_path / "r2")
    assert invoke("init", "--manifests", "r1", "-o", "kfdef.yaml").exit_code == 0
    before = apps_of(tmp_path / "kfdef.yaml")["app"]["patches"]
    assert invoke("upgrade", "-f", "kfdef.yaml", "--to", "r2", "--yes").exit_code == 0
    assert apps_of(tmp_path / "kfdef.yaml")["app"]["patches"] == before
    config = tmp_path / "r3" / "config" / "kustomization.yaml"
    shutil.copytree(tmp_path / "r1", tmp_path / "r3")
    config.write_text(config.read_text().replace("a=1", "a=2"))  # another generated name
    result = invoke("upgrade", "-f", "kfdef.yaml", "--to", "r3", "--yes")
    assert result.exit_code == 0, result.output
    after = apps_of(tmp_path / "kfdef.yaml")["app"]["patches"]
    assert len(after) == 1 and after != before
    shown = json.loads(invoke("show", "-f", "kfdef.yaml", "-o", "json").stdout)
    [deployment] = [o for o in shown if o["kind"] == "Deployment"]
    [config_map] = [o for o in shown if o["kind"] == "ConfigMap"]
    ref = deployment["spec"]["template"]["spec"]["containers"][0]["envFrom"][0]["configMapRef"]["name"]
    assert ref == config_map["metadata"]["name"]  # the new release's generated name


def test_a_keys_list_at_the_keys_own_indentation_is_part_of_its_span() -> None:
    text = "app:\n  patches:\n  - a: 1\n  - b: 2\n  postRender: x\n"
    edit = SpecText(text)
    edit.delete(("app", "patches", 0))
    assert edit.text() == "app:\n  patches:\n  - b: 2\n  postRender: x\n"
    edit = SpecText(text)
    edit.replace(("app", "patches"), ["patches: []"])
    assert edit.text() == "app:\n  patches: []\n  postRender: x\n"


def test_deleting_a_field_takes_the_comment_above_it() -> None:
    text = "app:\n  a: 1\n  # about b\n  b: 2\n  # about c\n  c: 3\n"
    edit = SpecText(text)
    edit.delete(("app", "b"))
    assert edit.text() == "app:\n  a: 1\n  # about c\n  c: 3\n"
