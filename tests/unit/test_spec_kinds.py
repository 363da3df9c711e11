"""``spec.kinds``: a spec adds rows for its own custom resources to the kind table (waits,
health rule, prune protection), with the table's own columns; built-in kinds stay as they are."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from kfdeploy import kinds
from kfdeploy.errors import SpecError
from kfdeploy.kinds import CUSTOM_RESOURCE, rule_for
from kfdeploy.kube import health, prune, wait
from kfdeploy.spec import parse_spec
from kfdeploy.workflow.session import load_spec

DATABASE = {"group": "db.example.com", "kind": "Database", "health": "ready", "protection": "data"}


def spec(*rows: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": "kfdef.apps.kubeflow.org/v1", "kind": "KfDef", "metadata": {"name": "kf"},
            "spec": {"platform": {"kind": "kwok"}, "kinds": list(rows)}}


def database(ready: str | None) -> dict[str, Any]:
    status = {"conditions": [{"type": "Ready", "status": ready}]} if ready else {}
    return {"apiVersion": "db.example.com/v1", "kind": "Database",
            "metadata": {"name": "main", "namespace": "team"}, "status": status}


def test_a_spec_row_sets_wait_health_and_protection_for_its_kind() -> None:
    row = parse_spec(spec(DATABASE), "kfdef.yaml", Path(".")).spec.kinds[0].rule()
    with kinds.extended([row]):
        assert wait.needs_polling(database(None))
        assert health.assess(database(None)).status == "InProgress"  # the generic chain says Current
        assert health.assess(database("True")).status == "Current"
        reason = prune.protection(None, database("True"), "set", prune.PruneRules())  # type: ignore[arg-type]
        assert reason is not None and "--prune-pvcs" in reason
    assert rule_for("db.example.com", "Database") == CUSTOM_RESOURCE  # the run is over


def test_defaults_are_those_of_any_custom_resource_waited_on_its_health() -> None:
    row = parse_spec(spec({"group": "db.example.com", "kind": "Database"}), "kfdef.yaml", Path(".")).spec.kinds[0]
    assert (row.rule().wait, row.rule().health, row.rule().protection) == ("health", "", "")
    assert row.rule().rank == CUSTOM_RESOURCE.rank


@pytest.mark.parametrize("row,words", [
    ({"group": "apps", "kind": "Deployment", "wait": "exists"}, "spec.kinds[0].kind: Deployment.apps is a built-in"),
    ({"group": "db.example.com", "kind": "Database", "protection": "always"}, "spec.kinds[0].protection"),
    ({"group": "db.example.com", "kind": "Database", "health": "deployment"}, "spec.kinds[0].health"),
], ids=["built-in-kind", "unknown-protection", "kubernetes-health-rule"])
def test_a_bad_row_is_a_spec_error_naming_its_field(row: dict[str, Any], words: str) -> None:
    with pytest.raises(SpecError) as err:
        parse_spec(spec(row), "kfdef.yaml", Path("."))
    assert words in str(err.value)


def test_loading_a_spec_for_a_run_puts_its_rows_in_the_table(tmp_path: Path) -> None:
    path = tmp_path / "kfdef.yaml"
    path.write_text(yaml.safe_dump(spec(DATABASE)))
    with kinds.extended([]):
        load_spec(path)
        assert rule_for("db.example.com", "Database").protection == "data"
        path.write_text(yaml.safe_dump(spec()))
        load_spec(path)  # the next spec has no rows: none left over
        assert rule_for("db.example.com", "Database") == CUSTOM_RESOURCE
