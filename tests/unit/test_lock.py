"""The lock file beside the spec: its path, a deterministic round trip, and clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from kfdeploy.errors import RenderError
from kfdeploy.render import lock

A, B = "a" * 64, "b" * 64


@pytest.mark.parametrize("spec, expected", [("kfdef.yaml", "kfdef.lock"), ("dir/prod.yml", "dir/prod.lock"),
                                            ("spec", "spec.lock")], ids=["yaml", "yml", "no-suffix"])
def test_lock_lives_beside_the_spec_with_its_suffix_replaced(spec: str, expected: str) -> None:
    assert lock.lock_path(spec) == Path(expected)


def test_record_writes_sorted_and_loads_back(tmp_path: Path) -> None:
    path = tmp_path / "kfdef.lock"
    pins = lock.load(path)
    assert pins.sources == {} and not path.exists()
    pins.record("https://z.example/b.tar.gz", B)
    pins.record("https://a.example/a.tar.gz", A)
    text = path.read_text()
    assert text.index("a.example") < text.index("z.example")  # sorted by URL, whatever the order fetched
    assert lock.load(path).sources == {"https://a.example/a.tar.gz": A, "https://z.example/b.tar.gz": B}
    again = tmp_path / "again.lock"
    copy = lock.Lock(again)
    copy.record("https://a.example/a.tar.gz", A)
    copy.record("https://z.example/b.tar.gz", B)
    assert again.read_text() == text  # deterministic bytes


def test_spec_in_memory_keeps_its_lock_in_memory(tmp_path: Path) -> None:
    pins = lock.for_spec("<memory>", tmp_path)
    pins.record("https://a.example/a.tar.gz", A)
    assert pins.digest("https://a.example/a.tar.gz") == A and pins.path is None


@pytest.mark.parametrize("text, words", [
    ("apiVersion: v1\nkind: ConfigMap\n", "not a lock file"),
    ("apiVersion: kfdeploy.io/v1\nkind: Lock\nsources:\n- {url: u, sha256: nothex}\n", "sources[0]"),
    ("apiVersion: kfdeploy.io/v1\nkind: Lock\nsources:\n- {url: u, sha256: " + A + "}\n- {url: u, sha256: "
     + B + "}\n", "pinned twice"),
    ("a: [\n", "cannot read"),
], ids=["wrong-kind", "bad-digest", "twice", "not-yaml"])
def test_a_broken_lock_is_named_with_the_fix(tmp_path: Path, text: str, words: str) -> None:
    path = tmp_path / "kfdef.lock"
    path.write_text(text)
    with pytest.raises(RenderError) as err:
        lock.load(path)
    assert str(path) in err.value.message and words in err.value.message
    assert err.value.hint and "delete it" in err.value.hint


def test_mismatch_names_url_and_both_digests(tmp_path: Path) -> None:
    err = lock.mismatch("https://a.example/a.tar.gz", A, B, lock.Lock(tmp_path / "kfdef.lock"))
    assert "https://a.example/a.tar.gz" in err.message and A in err.message and B in err.message
    assert str(tmp_path / "kfdef.lock") in err.message and err.hint and "delete its entry" in err.hint


def test_a_mismatch_against_pins_given_with_the_spec_names_them_and_no_file(tmp_path: Path) -> None:
    pins = lock.for_spec("revision 4 of kfdef.yaml", tmp_path, {"https://a.example/a.tar.gz": A})
    assert pins.path is None and pins.digest("https://a.example/a.tar.gz") == A
    err = lock.mismatch("https://a.example/a.tar.gz", A, B, pins)
    assert "the lock of revision 4 of kfdef.yaml" in err.message and A in err.message and B in err.message
    assert err.hint and "vendor" in err.hint and "delete its entry" not in err.hint
    pins.record("https://b.example/b.tar.gz", B)
    assert list(tmp_path.iterdir()) == []  # kept in memory


def test_an_unwritable_lock_is_a_clear_error(tmp_path: Path) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    (folder / "kfdef.lock").mkdir()  # a folder where the file should be: writing it fails for root too
    pins = lock.Lock(folder / "kfdef.lock")
    with pytest.raises(RenderError, match="cannot write the lock file"):
        pins.record("https://a.example/a.tar.gz", A)
