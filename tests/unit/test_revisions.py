"""Revision records: their stored form (compressed, split under the object limit), trimming,
secret redaction, what changed between two specs, and the migrations a rollback crosses."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import random
import tarfile
from pathlib import Path
from typing import Any

import pytest
import yaml
from fakes.https_proxy import Origin

from kfdeploy.errors import RenderError
from kfdeploy.kube.revisions import (
    PART_BYTES,
    RECORD_KEY,
    SECRET_NOT_RECORDED,
    Revision,
    configmaps,
    decode,
    encode,
    from_configmaps,
    to_trim,
)
from kfdeploy.render.lock import Lock, save
from kfdeploy.render.repos import RepoResolver
from kfdeploy.spec import parse_spec
from kfdeploy.workflow.revision_changes import changes, migrating_component, migrations_crossed
from kfdeploy.workflow.revision_verbs import lock_text, recorded_spec, restored_spec, rollback_target


def spec_doc(apps: list[dict[str, Any]], repos: list[dict[str, Any]] | None = None, **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "kfdef.apps.kubeflow.org/v1", "kind": "KfDef", "metadata": {"name": "kf"},
            "spec": {"platform": {"kind": "kwok"}, "repos": repos or [], "applications": apps, **spec}}


def revision(number: int, outcome: str = "healthy", doc: dict[str, Any] | None = None, **kw: Any) -> Revision:
    return Revision(number=number, time="2026-01-01T00:00:00Z", user="admin", kfdeploy_version="0.1.0",
                    spec=doc or spec_doc([]), spec_hash="h", outcome=outcome, **kw)  # type: ignore[arg-type]


def test_record_round_trips_through_its_configmaps() -> None:
    rev = revision(3, lock="repos: {}\n", applications={"pipeline": "abc"}, plan={"create": 4}, rollback_to=1)
    cms = configmaps("kf", rev)
    assert [cm["metadata"]["name"] for cm in cms] == ["kfdeploy.kf.revision.3"]
    assert from_configmaps(cms) == {3: rev}
    data = json.loads(json.dumps(rev.to_data()))
    assert {"kfdeployVersion", "specHash", "rollbackTo", "applications", "plan", "outcome"} <= set(data)


def test_records_are_compressed() -> None:
    apps = [{"name": f"app-{i}", "kustomize": {"repo": "manifests", "path": f"apps/app-{i}/upstream"}}
            for i in range(2000)]
    rev = revision(1, doc=spec_doc(apps))
    raw = len(json.dumps(rev.to_data()))
    stored = sum(len(p) for p in encode(rev))
    assert stored * 5 < raw, (stored, raw)


def test_a_record_larger_than_a_part_is_split_and_read_back_whole() -> None:
    rng = random.Random(7)  # incompressible text, so the record must span parts
    lock = "".join(rng.choice("0123456789abcdef") for _ in range(3 * PART_BYTES))
    rev = revision(2, lock=lock)
    cms = configmaps("kf", rev)
    assert len(cms) >= 2
    for cm in cms:  # each object stays under the API server's 1 MiB with room to spare
        assert len(json.dumps(cm)) < 1024 * 1024
    assert [cm["metadata"]["name"] for cm in cms][:2] == ["kfdeploy.kf.revision.2", "kfdeploy.kf.revision.2.1"]
    assert from_configmaps(list(reversed(cms))) == {2: rev}
    assert from_configmaps(cms[:-1]) == {}  # a missing part is never read as a whole record


def test_decode_reads_what_encode_wrote() -> None:
    rev = revision(5, outcome="in-progress")
    assert decode(encode(rev)) == rev
    assert base64.b64decode(configmaps("kf", rev)[0]["binaryData"][RECORD_KEY])[:2] == b"\x1f\x8b"  # gzip


@pytest.mark.parametrize(("numbers", "limit", "gone"), [
    ([1, 2, 3], 10, []),
    ([1, 2, 3, 4, 5], 3, [1, 2]),
    ([7, 3, 5], 1, [3, 5]),
    ([4], 1, []),
], ids=["under", "oldest-first", "unordered", "one-kept"])
def test_trim_keeps_the_newest(numbers: list[int], limit: int, gone: list[int]) -> None:
    assert to_trim(numbers, limit) == gone
    assert len(set(numbers) - set(to_trim(numbers, limit))) == min(limit, len(numbers))


def test_interrupted_is_an_in_progress_record_read_later() -> None:
    assert revision(1, outcome="in-progress").shown_outcome == "interrupted"
    assert revision(1, outcome="failed").shown_outcome == "failed"


def test_recorded_spec_keeps_references_never_values(tmp_path: Path) -> None:
    doc = spec_doc([{"name": "pipelines", "params": {"dbPassword": {"secretRef": "db"}}}],
                   secrets=[{"name": "db", "secretSource": {"literalSource": {"value": "s3cr3t-value"}}},
                            {"name": "oidc", "secretSource": {"envSource": {"name": "OIDC_SECRET"}}}])
    spec = parse_spec(doc, str(tmp_path / "kfdef.yaml"), tmp_path)
    recorded = recorded_spec(spec)
    text = json.dumps(recorded)
    assert "s3cr3t-value" not in text
    assert "OIDC_SECRET" in text and '"secretRef": "db"' in text
    assert recorded["spec"]["secrets"][0]["secretSource"]["literalSource"]["value"] == SECRET_NOT_RECORDED
    assert "revisionHistoryLimit" not in recorded["spec"]  # only what the user wrote
    parse_spec(recorded, "recorded", tmp_path)  # still a valid spec


def test_restored_spec_takes_literal_secrets_from_the_file_and_keeps_its_folder(tmp_path: Path) -> None:
    secret = {"name": "db", "secretSource": {"literalSource": {"value": "from-the-file"}}}
    current = parse_spec(spec_doc([], secrets=[secret]), str(tmp_path / "kfdef.yaml"), tmp_path)
    recorded = recorded_spec(parse_spec(spec_doc([{"name": "pipelines"}], secrets=[secret]), "old", tmp_path))
    spec = restored_spec(revision(7, doc=recorded), current)
    literal = spec.spec.secrets[0].secret_source.literal_source
    assert literal is not None and literal.value.get_secret_value() == "from-the-file"
    assert spec.base_dir == tmp_path and [a.name for a in spec.spec.applications] == ["pipelines"]
    assert "revision 7" in spec.source and spec.pins == {}  # no lock recorded: an empty one, in memory
    assert list(tmp_path.iterdir()) == []  # nothing written beside the spec
    bare = parse_spec(spec_doc([]), str(tmp_path / "kfdef.yaml"), tmp_path)
    with pytest.raises(Exception, match="secret 'db'"):
        restored_spec(revision(1, doc=recorded), bare)


def release_archive(version: str) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as tar:
        data = f"resources: []  # {version}\n".encode()
        info = tarfile.TarInfo(f"release-{version}/kustomization.yaml")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


def test_a_rollback_renders_with_the_recorded_lock_and_writes_nothing_beside_the_spec(
        https_origin: Origin, tmp_path: Path) -> None:
    v1, v2 = f"{https_origin.url}/release-1.tar.gz", f"{https_origin.url}/release-2.tar.gz"
    www = tmp_path / "www"
    v1_bytes = release_archive("1")
    (www / "release-1.tar.gz").write_bytes(v1_bytes)
    (www / "release-2.tar.gz").write_bytes(release_archive("2"))
    folder = tmp_path / "spec"
    folder.mkdir()
    old = parse_spec(spec_doc([{"name": "app", "kustomize": {"repo": "r", "path": "."}}],
                              [{"name": "r", "uri": v1}]), str(folder / "kfdef.yaml"), folder)
    recorded_lock = lock_text(Lock(None, {v1: hashlib.sha256(v1_bytes).hexdigest()}))
    assert recorded_lock is not None and lock_text(Lock(None)) is None
    # The file's lock pins v2 only (the spec file was upgraded since).
    (folder / "kfdef.yaml").write_text(yaml.safe_dump(spec_doc([], [{"name": "r", "uri": v2}])))
    save(Lock(folder / "kfdef.lock", {v2: hashlib.sha256(release_archive("2")).hexdigest()}))
    listing = {p.name: p.read_bytes() for p in folder.iterdir()}
    current = parse_spec(spec_doc([], [{"name": "r", "uri": v2}]), str(folder / "kfdef.yaml"), folder)

    spec = restored_spec(revision(1, doc=recorded_spec(old), lock=recorded_lock), current)
    repos = RepoResolver(spec.base_dir, tmp_path / "cache", report=lambda _: None,
                         lock=RepoResolver.for_spec(spec).lock)
    assert (repos.root(spec.spec.repos[0]) / "kustomization.yaml").read_text().endswith("# 1\n")
    assert repos.lock.path is None and lock_text(repos.lock) == recorded_lock  # what the rollback records
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == listing  # the user's folder untouched

    (www / "release-1.tar.gz").write_bytes(release_archive("1-moved"))  # the URL now serves other bytes: refused by the recorded pin
    again = RepoResolver(spec.base_dir, tmp_path / "other-cache", report=lambda _: None,
                         lock=RepoResolver.for_spec(spec).lock)
    with pytest.raises(RenderError, match="sha256 mismatch") as refused:
        again.root(spec.spec.repos[0])
    assert "the lock of revision 1 of" in refused.value.message and recorded_lock.split("sha256: ")[1][:64] \
        in refused.value.message
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == listing


def test_rollback_target_is_the_last_healthy_before_the_live_one() -> None:
    spec = parse_spec(spec_doc([]), "kfdef.yaml", Path())
    revs = [revision(1), revision(2), revision(3, "failed"), revision(4, "in-progress")]
    assert rollback_target(revs, None, spec).number == 2
    assert rollback_target(revs, 3, spec).number == 3
    with pytest.raises(Exception, match="revision 9 is not kept; kept revisions: 1, 2, 3, 4"):
        rollback_target(revs, 9, spec)
    with pytest.raises(Exception, match="no healthy revision before revision 1"):
        rollback_target([revision(1)], None, spec)


V1 = [{"name": "release", "uri": "https://example.com/release/v1.tar.gz"}]
V2 = [{"name": "release", "uri": "https://example.com/release/v2.tar.gz", "sha256": "ab" * 32}]
PIPELINE = {"name": "pipeline", "kustomize": {"repo": "release", "path": "apps/pipeline/upstream"}}
TRAINER = {"name": "trainer", "kustomize": {"repo": "release", "path": "apps/trainer"}}


@pytest.mark.parametrize(("old", "new", "expected"), [
    (None, spec_doc([PIPELINE]), ["installed 1 application(s)"]),
    (spec_doc([PIPELINE], V1), spec_doc([PIPELINE, TRAINER], V1), ["+ trainer"]),
    (spec_doc([PIPELINE, TRAINER], V1), spec_doc([PIPELINE], V1), ["- trainer"]),
    (spec_doc([PIPELINE], V1), spec_doc([PIPELINE], V2),
     ["repo release: https://example.com/release/v1.tar.gz -> https://example.com/release/v2.tar.gz"
      " (sha256 abababababab)"]),
    (spec_doc([{"name": "pipelines", "params": {"replicas": 1}}]),
     spec_doc([{"name": "pipelines", "params": {"replicas": 2, "imageTag": "2.5.0"}}]),
     ["pipelines: params changed: imageTag, replicas"]),
    (spec_doc([]), spec_doc([], version="1.11"), ["version (default) -> 1.11"]),
    (spec_doc([PIPELINE], V1), spec_doc([{**PIPELINE, "kustomize": {"repo": "release", "path": "apps/p2"}}], V1),
     ["pipeline: kustomize repo=release, path=apps/pipeline/upstream -> repo=release, path=apps/p2"]),
    (spec_doc([PIPELINE], V1), spec_doc([PIPELINE], V1), []),
], ids=["first", "app-added", "app-removed", "repo-version", "params", "library-version", "path", "same"])
def test_changes_between_specs(old: dict[str, Any] | None, new: dict[str, Any], expected: list[str]) -> None:
    assert changes(old, new) == expected


@pytest.mark.parametrize(("app", "component"), [
    (PIPELINE, "Kubeflow Pipelines"),
    ({"name": "pipelines"}, "Kubeflow Pipelines"),
    ({"name": "hp", "kustomize": {"path": "applications/katib/upstream/installs/katib-with-kubeflow"}}, "Katib"),
    ({"name": "mr", "helm": {"chart": "oci://example/model-registry"}}, "Model Registry"),
    (TRAINER, None),
], ids=["kustomize-path", "library-name", "katib-path", "helm-chart", "not-migrating"])
def test_migrating_components(app: dict[str, Any], component: str | None) -> None:
    assert migrating_component(app) == component


def test_migrations_crossed_only_where_the_release_changes() -> None:
    assert migrations_crossed(spec_doc([PIPELINE, TRAINER], V2), spec_doc([PIPELINE, TRAINER], V1)) \
        == ["pipeline (Kubeflow Pipelines)"]
    assert migrations_crossed(spec_doc([PIPELINE], V1), spec_doc([PIPELINE], V1)) == []
    tuned = spec_doc([{"name": "pipelines", "params": {"replicas": 2}}])
    assert migrations_crossed(tuned, spec_doc([{"name": "pipelines"}])) == []  # tuning is no release
    assert migrations_crossed(spec_doc([{"name": "katib"}], version="1.11"), spec_doc([{"name": "katib"}])) \
        == ["katib (Katib)"]
    assert migrations_crossed(spec_doc([{"name": "pipelines", "params": {"imageTag": "2.6.0"}}]),
                              spec_doc([{"name": "pipelines"}])) == ["pipelines (Kubeflow Pipelines)"]


def test_history_text_is_printable_yaml_of_the_spec(tmp_path: Path) -> None:
    from kfdeploy.workflow.revision_verbs import RevisionSpec
    doc = spec_doc([PIPELINE], V1)
    assert yaml.safe_load(RevisionSpec(revision(1, doc=doc)).text()) == doc


def test_history_lists_each_revision_with_what_it_changed() -> None:
    from kfdeploy.workflow.revision_verbs import HistoryResult
    v1, v2 = spec_doc([PIPELINE], V1), spec_doc([PIPELINE, TRAINER], V2)
    result = HistoryResult([revision(2, doc=v1), revision(3, doc=v2, outcome="in-progress"),
                            revision(4, doc=v1, rollback_to=2)])
    rows = result.to_data()["revisions"]
    assert [(r["revision"], r["outcome"]) for r in rows] == [(2, "healthy"), (3, "interrupted"), (4, "healthy")]
    assert rows[0]["changes"] == ["(the revision before it is no longer kept)"]
    assert "+ trainer" in rows[1]["changes"] and rows[1]["changes"][0].startswith("repo release: ")
    assert rows[2]["changes"][0] == "rollback to revision 2" and "- trainer" in rows[2]["changes"]
    assert rows[2]["rollbackTo"] == 2 and "rollbackTo" not in rows[0]
    text = result.text().splitlines()
    assert text[0].split() == ["REVISION", "APPLIED", "OUTCOME", "USER", "KFDEPLOY", "CHANGES"]
    assert text[1].split()[:3] == ["2", "2026-01-01T00:00:00Z", "healthy"]
    assert any(line.strip() == "+ trainer" for line in text)  # further changes on lines of their own
    assert HistoryResult([]).text().startswith("No revisions recorded")


