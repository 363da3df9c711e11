"""CRDs of the built-in library: the fields a controller reads but only the CRD schema defaults.

The library's CRDs are open (spec and status preserve unknown fields), so the API server applies no
default. Where a controller relies on one, a resource written by hand would behave differently from
upstream; those fields get a structural schema with the default. Found by reading the controllers
at the pinned releases (docs/components-catalog.md lists them).
"""

from __future__ import annotations

from typing import Any

import pytest
from test_component_structure import evaluated, library_crds, renderable

# (CRD, field path in the storage version) -> (default, who reads it and what happens without it)
RELIED_ON_DEFAULTS = {
    ("clusterstoragecontainers.serving.kserve.io", "spec.workloadType"):
        ("initContainer", "kserve's storage initializer injector skips containers of any other workloadType"),
}


def storage_schema(name: str) -> dict[str, Any]:
    crds = [c for c in library_crds() if c["metadata"]["name"] == name]
    assert len(crds) == 1, name
    return next(v for v in crds[0]["spec"]["versions"] if v.get("storage"))["schema"]["openAPIV3Schema"]


@pytest.mark.parametrize("crd,path", list(RELIED_ON_DEFAULTS), ids=[f"{c}:{p}" for c, p in RELIED_ON_DEFAULTS])
def test_relied_on_defaults_are_in_a_structural_schema(crd: str, path: str) -> None:
    node = storage_schema(crd)
    for part in path.split("."):
        # Structural: every level typed, not an open object (which would keep no default below it).
        assert node.get("type") == "object" and not node.get("x-kubernetes-preserve-unknown-fields"), f"{crd} at {part}"
        node = node["properties"][part]
    assert node.get("default") == RELIED_ON_DEFAULTS[crd, path][0]


def test_library_objects_validate_against_the_typed_schemas() -> None:
    """Typing a schema must not reject what the library itself ships (required fields, enums)."""
    for crd, path in RELIED_ON_DEFAULTS:
        plural, _, group = crd.partition(".")
        schema = storage_schema(crd)
        spec_schema = schema["properties"]["spec"]
        objs = [o for name in renderable() for o in evaluated(name)[0]
                if o["apiVersion"].startswith(group + "/") and o["kind"].lower() + "s" == plural]
        assert objs, crd
        for o in objs:
            assert set(spec_schema.get("required", [])) <= set(o["spec"]), o["metadata"]["name"]
            field = path.split(".")[-1]
            allowed = spec_schema["properties"][field].get("enum")
            assert allowed is None or o["spec"].get(field, allowed[0]) in allowed
