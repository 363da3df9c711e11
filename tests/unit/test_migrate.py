"""Client-side-apply takeover: managedFields rewriting is a pure function."""

from __future__ import annotations

from kfdeploy.kube.migrate import needs_upgrade, upgraded_managed_fields

CSA = {"manager": "kubectl-client-side-apply", "operation": "Update", "apiVersion": "v1",
       "fieldsType": "FieldsV1", "fieldsV1": {"f:data": {"f:a": {}}, "f:metadata": {"f:annotations": {}}}}
STATUS = {"manager": "kube-controller-manager", "operation": "Update", "subresource": "status",
          "fieldsV1": {"f:status": {}}}
OURS = {"manager": "kfdeploy", "operation": "Apply", "apiVersion": "v1", "fieldsType": "FieldsV1",
        "fieldsV1": {"f:data": {"f:b": {}}}}


def test_client_side_entries_become_one_apply_entry_of_ours():
    out = upgraded_managed_fields([CSA, STATUS], "kfdeploy")
    assert out is not None
    assert STATUS in out
    [mine] = [e for e in out if e["manager"] == "kfdeploy"]
    assert mine["operation"] == "Apply" and mine["fieldsV1"] == CSA["fieldsV1"]
    assert not any(e["manager"] == "kubectl-client-side-apply" for e in out)


def test_existing_apply_entry_is_merged_not_duplicated():
    out = upgraded_managed_fields([OURS, CSA], "kfdeploy")
    assert out is not None
    [mine] = [e for e in out if e["manager"] == "kfdeploy"]
    assert mine["fieldsV1"] == {"f:data": {"f:a": {}, "f:b": {}}, "f:metadata": {"f:annotations": {}}}


def test_nothing_to_take_over():
    assert upgraded_managed_fields([OURS, STATUS], "kfdeploy") is None
    assert not needs_upgrade({"metadata": {"managedFields": [OURS, STATUS]}})
    assert needs_upgrade({"metadata": {"managedFields": [CSA]}})
    assert not needs_upgrade(None)
