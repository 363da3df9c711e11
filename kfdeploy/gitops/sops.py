"""SOPS-encrypted Secrets in an export (``kfdeploy export --sops-age-recipient``), for Flux.

The Secrets that hold credentials go to Git encrypted with ``sops`` for age recipients, as Flux
documents it: only ``data`` and ``stringData`` are encrypted, so names, labels and annotations
stay readable in review. Flux's kustomize-controller decrypts them with the age identities of
the ``sops-age`` Secret in ``flux-system`` (``Kustomization.spec.decryption``).

The plaintext reaches only the ``sops`` process's standard input: never its arguments, never a
file (sops runs in a private, removed directory, so no ``.sops.yaml`` of the user's checkout
changes what it does). Its error output is shown with every value of the Secret redacted.

sops output is not deterministic (a fresh data key and IVs each time). So that a re-export
without a change writes no byte, each encrypted Secret carries ``kfdeploy.io/sops-digest``: a
keyed digest (HMAC-SHA256, keyed by the cluster's per-install checksum key, the key of the
restart annotations) of the plaintext Secret and the recipients. The file is kept while the
digest matches, and encrypted again when a value, the Secret or the recipients change (or with
``--sops-rotate``). Without the cluster's key, the digest says nothing about the values. The
Secrets carry no ``kfdeploy.io/hash`` (an unkeyed digest, which would let anyone with the
repository test guesses of a weak value); ``plan`` judges them field by field instead.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import re
import subprocess
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from kfdeploy.errors import KfdeployError, ToolMissingError, UsageError
from kfdeploy.labels import SOPS_DIGEST
from kfdeploy.tools import find_tool, tool_env_var

ENCRYPTED_REGEX = "^(data|stringData)$"
DECRYPTION_SECRET = "sops-age"  # in flux-system; key age.agekey (kustomize-controller reads *.agekey)
AGE_KEY = "age.agekey"
RECIPIENT = re.compile(r"^age1[02-9ac-hj-np-z]{58}$")  # bech32, an X25519 age recipient
SOPS_VERSION = "v3.11.0"  # the sops kustomize-controller v1.7.3 decrypts with
INSTALL_HINT = ("install sops (https://github.com/getsops/sops/releases, or `go install "
                f"github.com/getsops/sops/v3/cmd/sops@{SOPS_VERSION}`) onto PATH, or set "
                f"{tool_env_var('sops')}; `make tools-flux` builds it too")

Obj = dict[str, Any]


def check_recipients(recipients: Sequence[str]) -> list[str]:
    """The recipients, deduplicated in order; a malformed one is a usage error naming it."""
    bad = [r for r in recipients if not RECIPIENT.match(r)]
    if bad:
        raise UsageError(f"--sops-age-recipient {bad[0]!r} is not an age recipient (age1 followed by 58 characters)",
                         hint="pass the public key age-keygen printed (`age-keygen -y KEYFILE` prints it again)")
    return list(dict.fromkeys(recipients))


def sops_binary() -> str:
    """The ``sops`` to run: KFDEPLOY_SOPS_BINARY, the tools directory, else PATH."""
    try:
        return find_tool("sops")
    except ToolMissingError as e:
        raise ToolMissingError(f"--sops-age-recipient needs the sops command: {e.message}", hint=INSTALL_HINT) from e


def digest(key: bytes, secret: Mapping[str, Any], recipients: Sequence[str]) -> str:
    """The keyed digest of a plaintext Secret (its own digest annotation left out) and recipients."""
    payload = json.dumps([without_digest(secret), sorted(recipients)], sort_keys=True, separators=(",", ":"))
    return hmac.new(key, payload.encode(), hashlib.sha256).hexdigest()


def without_digest(secret: Mapping[str, Any]) -> Obj:
    meta = dict(secret.get("metadata") or {})
    annotations = {k: v for k, v in (meta.get("annotations") or {}).items() if k != SOPS_DIGEST}
    if annotations:
        meta["annotations"] = annotations
    else:
        meta.pop("annotations", None)
    return {**secret, "metadata": meta}


def with_digest(secret: Mapping[str, Any], value: str) -> Obj:
    meta = dict(secret.get("metadata") or {})
    meta["annotations"] = {**(meta.get("annotations") or {}), SOPS_DIGEST: value}
    return {**secret, "metadata": meta}


def recorded_digest(document: Mapping[str, Any] | None) -> str:
    """The digest an encrypted Secret of an earlier export carries ('' if none)."""
    meta = (document or {}).get("metadata") or {}
    return str((meta.get("annotations") or {}).get(SOPS_DIGEST, ""))


def values_of(secret: Mapping[str, Any]) -> list[str]:
    """Every value the Secret holds, as it could appear in text: plain and base64."""
    out: list[str] = []
    for value in (secret.get("stringData") or {}).values():
        out += [str(value), base64.b64encode(str(value).encode()).decode()]
    for value in (secret.get("data") or {}).values():
        out.append(str(value))
        with contextlib.suppress(ValueError):  # UnicodeDecodeError is a ValueError
            out.append(base64.b64decode(str(value)).decode())
    return [v for v in out if v]


def redact(text: str, values: Iterable[str]) -> str:
    for value in sorted(set(values), key=len, reverse=True):
        text = text.replace(value, "<redacted>")
    return text


def encrypt(binary: str, plaintext: str, recipients: Sequence[str], name: str, values: Iterable[str]) -> str:
    """``plaintext`` (one YAML document) encrypted by ``sops`` for ``recipients``; ``name``
    says which Secret in an error, ``values`` are redacted from sops's error output."""
    args = [binary, "--encrypt", "--age", ",".join(recipients), "--encrypted-regex", ENCRYPTED_REGEX,
            "--input-type", "yaml", "--output-type", "yaml", "/dev/stdin"]
    with tempfile.TemporaryDirectory(prefix="kfdeploy-sops-") as private:  # mode 0700, removed
        try:
            done = subprocess.run(args, input=plaintext, capture_output=True, text=True, check=False,
                                  cwd=private, timeout=120)
        except (OSError, subprocess.TimeoutExpired) as e:
            raise KfdeployError(f"running sops for {name} failed: {e}", hint=INSTALL_HINT) from e
    if done.returncode != 0 or "ENC[" not in done.stdout:
        detail = redact(done.stderr.strip(), values)[-2000:] or "no error output"
        raise KfdeployError(f"sops could not encrypt {name} (exit {done.returncode}): {detail}",
                            hint="check the --sops-age-recipient values and the sops version (sops --version)")
    return done.stdout
