"""``kfdeploy export --sops-age-recipient``: the sops CLI contract (argv, stdin, a private
working directory, no plaintext anywhere but sops's stdin), the Flux layout of encrypted
Secrets, the keyed digest that keeps a re-export byte-identical, and the refusals.

sops is the stub in tests/fakes/bin-sops (it records each call, never its input); the real
sops and a real Flux decrypting the export are in tests/cluster/test_flux_sops.py.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from kfdeploy.cli import cli
from kfdeploy.errors import KfdeployError, UsageError
from kfdeploy.gitops import sops
from kfdeploy.gitops.layout import Settings, layout
from kfdeploy.gitops.tree import cluster_export
from kfdeploy.library import default_root
from kfdeploy.render import render
from kfdeploy.spec import load_spec
from kfdeploy.workflow.render_verbs import yaml_stream

STUB = Path(__file__).resolve().parents[1] / "fakes" / "bin-sops" / "sops"
SPEC = default_root() / "kfdef.yaml"
R1 = "age1" + "q" * 58
R2 = "age1" + "z" * 57 + "p"
SECRET = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db", "namespace": "kubeflow"},
          "type": "Opaque", "stringData": {"password": "Zq7-plain-value-never-on-disk"},
          "data": {"token": base64.b64encode(b"another-value-9x").decode()}}


@pytest.fixture
def stub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    log = tmp_path / "sops.log"
    monkeypatch.setenv("FAKE_SOPS_LOG", str(log))
    monkeypatch.setenv("KFDEPLOY_SOPS_BINARY", str(STUB))
    return log


def calls(log: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


def values() -> list[str]:
    return sops.values_of(SECRET)


# -- the sops CLI contract -------------------------------------------------------------------------

def test_plaintext_reaches_only_sops_stdin(stub: Path) -> None:
    plaintext = yaml_stream([SECRET])
    out = sops.encrypt(str(STUB), plaintext, [R1, R2], "Secret/kubeflow/db", values())
    [call] = calls(stub)
    assert call["argv"] == ["--encrypt", "--age", f"{R1},{R2}", "--encrypted-regex", "^(data|stringData)$",
                            "--input-type", "yaml", "--output-type", "yaml", "/dev/stdin"]
    assert call["stdin_sha256"] == hashlib.sha256(plaintext.encode()).hexdigest()
    assert call["cwd_mode"] == "0o700" and call["cwd_files"] == [], "sops runs in an empty private directory"
    assert not Path(call["cwd"]).exists(), "the private directory is removed"
    assert all(v not in out for v in values()) and "ENC[" in out
    doc = yaml.safe_load(out)
    assert doc["metadata"] == SECRET["metadata"] and set(doc["stringData"]) == {"password"}


def test_a_sops_error_is_shown_without_the_values(stub: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The stub echoes its input on failure; the error kfdeploy shows names the Secret and
    carries none of its values (plain or base64)."""
    monkeypatch.setenv("FAKE_SOPS_FAIL", "1")
    with pytest.raises(KfdeployError) as e:
        sops.encrypt(str(STUB), yaml_stream([SECRET]), [R1], "Secret/kubeflow/db", values())
    text = str(e.value)
    assert "Secret/kubeflow/db" in text and "exit 128" in text
    assert all(v not in text for v in values()), text
    assert len(values()) == 4  # both values, plain and base64


# -- the keyed digest ------------------------------------------------------------------------------

def test_digest_follows_values_recipients_and_key() -> None:
    base = sops.digest(b"k", SECRET, [R1])
    changed = {**SECRET, "stringData": {"password": "other"}}
    assert sops.digest(b"k", changed, [R1]) != base
    assert sops.digest(b"k", SECRET, [R1, R2]) != base
    assert sops.digest(b"k", SECRET, [R2, R1]) == sops.digest(b"k", SECRET, [R1, R2])
    assert sops.digest(b"other key", SECRET, [R1]) != base
    stamped = sops.with_digest(SECRET, base)
    assert sops.recorded_digest(stamped) == base and sops.digest(b"k", stamped, [R1]) == base


def test_recipients_are_checked() -> None:
    assert sops.check_recipients([R1, R2, R1]) == [R1, R2]
    for bad in ("age1short", "AGE1" + "q" * 58, "age1" + "b" * 58, "ssh-ed25519 AAAA"):
        with pytest.raises(UsageError, match="not an age recipient"):
            sops.check_recipients([bad])


# -- the Flux layout ------------------------------------------------------------------------------

def test_flux_layout_wraps_applications_with_encrypted_secrets() -> None:
    export = cluster_export("kubeflow", render(load_spec(str(SPEC))))
    tree = layout([export], Settings("flux", "https://git.example.com/p.git", sops=True), lambda c: "seed")
    plain = layout([export], Settings("flux", "https://git.example.com/p.git"), lambda c: "seed")
    ks = {k["metadata"]["name"]: k for k in tree.files["clusters/kubeflow/flux/applications.yaml"]}
    sealed_apps = {a.name for a in export.apps if a.seeded}
    assert sealed_apps and len(tree.sealed) == sum(len(a.seeded) for a in export.apps)
    for app in export.apps:
        spec = ks[app.name]["spec"]
        if app.name not in sealed_apps:
            assert "decryption" not in spec and spec["path"] == f"./apps/{app.name}"
            continue
        assert spec["decryption"] == {"provider": "sops", "secretRef": {"name": "sops-age"}}
        folder = spec["path"].removeprefix("./")
        assert folder == f"clusters/kubeflow/sops/{app.name}"
        [kz] = tree.files[f"{folder}/kustomization.yaml"]
        wrapped, *secret_files = kz["resources"]
        assert os.path.normpath(f"{folder}/{wrapped}") == f"apps/{app.name}"
        assert sorted(f"{folder}/{f}" for f in secret_files) == sorted(
            p for p, (_, s) in tree.sealed.items() if s in app.seeded)
    assert {p: f for p, f in tree.files.items() if "/sops/" not in p and "/flux/" not in p} == \
        {p: f for p, f in plain.files.items() if "/flux/" not in p}, "the applications' own files are the same"
    readme = tree.texts["clusters/kubeflow/README.md"]
    assert "sops-age" in readme and "age.agekey" in readme and "kfdeploy credentials seed" not in readme


# -- refusals (before any cluster is reached) -----------------------------------------------------

def run(*args: str, env: dict[str, str] | None = None) -> Any:
    return CliRunner().invoke(cli, ["export", "-f", str(SPEC), "-d", "unused", *args], env=env)


def test_argocd_with_sops_is_refused() -> None:
    result = run("--format", "argocd", "--sops-age-recipient", R1)
    assert result.exit_code == 3, result.output
    assert "Argo CD does not decrypt SOPS" in result.output and "kfdeploy credentials seed" in result.output


def test_a_bad_recipient_is_refused() -> None:
    result = run("--format", "flux", "--sops-age-recipient", "age1nope")
    assert result.exit_code == 3 and "'age1nope' is not an age recipient" in result.output


@pytest.mark.parametrize("flag", [["--sops-rotate"], ["--kubeconfig", "kc"], ["--context", "c"]])
def test_cluster_flags_without_recipients_are_refused(flag: list[str]) -> None:
    result = run("--format", "flux", *flag)
    assert result.exit_code == 3 and "is for --sops-age-recipient" in result.output, result.output


def test_missing_sops_says_how_to_install_it(tmp_path: Path) -> None:
    result = run("--format", "flux", "--sops-age-recipient", R1,
                 env={"PATH": str(tmp_path), "KFDEPLOY_TOOLS_DIR": str(tmp_path), "KFDEPLOY_SOPS_BINARY": ""})
    assert result.exit_code == 1, result.output
    assert "needs the sops command" in result.output and "go install github.com/getsops/sops/v3/cmd/sops@" in \
        result.output
    assert not (tmp_path / "unused").exists()


# -- plan on a cluster Flux applied the SOPS Secrets to -------------------------------------------

def test_plan_judges_a_decrypted_secret_by_its_fields() -> None:
    """A Secret Flux decrypted carries the keyed digest and no kfdeploy hash (Git holds none):
    plan compares its fields. Unchanged values are no change; a changed value is an update;
    an unhashed Secret without the digest is an update as before."""
    from kfdeploy.kube.inventory import HASH, stamp
    from kfdeploy.kube.live import LiveIndex
    from kfdeploy.kube.plan import desired_changes

    desired = stamp(SECRET, "set-1")
    server_side = {**{k: v for k, v in SECRET.items() if k != "stringData"},
                   "data": {**SECRET["data"], "password": base64.b64encode(b"Zq7-plain-value-never-on-disk").decode()}}
    applied = sops.with_digest({**server_side, "metadata": {**desired["metadata"], "annotations": {}}}, "d")
    assert HASH not in applied["metadata"]["annotations"]

    def action(live: dict[str, Any]) -> str:
        return desired_changes([desired], LiveIndex([live]))[0].action

    assert action(applied) == "unchanged"
    assert action({**applied, "data": {**applied["data"], "token": "b3RoZXI="}}) == "update"
    assert action(sops.without_digest(applied)) == "update"
    # Seeded before the switch to SOPS: the seed's hash (of other values) stays beside the digest,
    # owned by kfdeploy's field manager; the values Flux applied are what decides.
    stale = {**applied, "metadata": {**applied["metadata"], "annotations": {
        **applied["metadata"]["annotations"], HASH: stamp({**SECRET, "data": {"token": "b3RoZXI="}}, "s")[
            "metadata"]["annotations"][HASH]}}}
    assert stale["metadata"]["annotations"][HASH] != desired["metadata"]["annotations"][HASH]
    assert action(stale) == "unchanged"
    assert action({**stale, "data": {**stale["data"], "token": "b3RoZXI="}}) == "update"


def test_the_install_hint_names_the_sops_flux_decrypts_with() -> None:
    """The sops version of the hint is the one tools/flux/kustomize-controller/go.mod pins (the
    sops `make tools-flux` builds and kustomize-controller decrypts with)."""
    go_mod = (Path(__file__).resolve().parents[2] / "tools/flux/kustomize-controller/go.mod").read_text()
    assert f"\tgithub.com/getsops/sops/v3 {sops.SOPS_VERSION} " in go_mod
