"""Credentials a component declares (``credentials:`` in component.yaml), filled in at render time.

A credential is a string param whose empty value means "kfdeploy chooses it". The value, in
order of precedence: what the spec sets for the param (a literal or a ``{secretRef}`` to
``spec.secrets``), else what an earlier apply stored in the cluster, else a new random value.
``bcrypt: <param>`` credentials hold the bcrypt hash of another credential, kept as long as it
still matches that credential (bcrypt salts, so re-hashing would change it on every render).

Every value used is recorded, and apply writes them to one Secret per KfDef in
``kfdeploy-system`` before anything that reads them, so a re-apply never rotates them; changing
the spec's value rotates explicitly. Offline renders (build, show) get placeholders instead, so
no credential reaches a file or a terminal.

A credential a database was initialised with (``adopt: {secret, key}``) cannot be rotated by
changing a Secret: an install made before kfdeploy stored credentials keeps the value its live
Secret holds, and the apply says so, instead of locking its services out of their own data.

Values a source generates itself on every render (a helm chart's random passwords,
``render.volatile``) are kept the same way with ``kept``: stored, else live, else this render's.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import string
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import bcrypt

from kfdeploy import scrub

ALPHABET = string.ascii_letters + string.digits
BCRYPT_ROUNDS = 12  # upstream's demo hash uses cost 12
CHECKSUM_KEY = "kfdeploy.checksum-key"  # the store entry that keys the restart annotations
PLACEHOLDER = "<generated:{}>"
SECRET_PLACEHOLDER = "<secret:{}>"


@dataclass(frozen=True)
class CredentialDecl:
    """One declared credential: ``length`` random characters, or the bcrypt hash of ``bcrypt``."""

    param: str
    length: int = 32
    bcrypt: str | None = None
    adopt: tuple[str, str] | None = None  # (Secret name, key) an earlier install kept it in


# Reads one key of a live Secret: (namespace, name, key) -> its value, or None when absent.
SecretReader = Callable[[str, str, str], "str | None"]


def store_key(application: str, param: str) -> str:
    return f"{application}.{param}"


def random_value(length: int) -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(length))


def hash_matches(password: str, hashed: str) -> bool:
    try:
        return bool(bcrypt.checkpw(password.encode(), hashed.encode()))
    except ValueError:  # not a bcrypt hash
        return False


def bcrypt_hash(password: str) -> str:
    return str(bcrypt.hashpw(password.encode(), bcrypt.gensalt(BCRYPT_ROUNDS)).decode())


@dataclass
class Credentials:
    """The credential values of one render; ``stored`` is what the cluster holds (None offline)."""

    stored: Mapping[str, str] | None = None
    values: dict[str, str] = field(default_factory=dict)
    masked: bool = False  # spec.secrets values become placeholders too (build, show)
    live: SecretReader | None = None  # where ``adopt`` credentials of earlier installs are read
    adopted: list[str] = field(default_factory=list)  # "app.param from Secret ns/name" lines

    @classmethod
    def offline(cls, masked: bool = False) -> Credentials:
        return cls(None, masked=masked)

    @property
    def placeholders(self) -> bool:
        return self.stored is None

    def fill(self, application: str, decls: tuple[CredentialDecl, ...], params: dict[str, Any]) -> dict[str, Any]:
        """``params`` with every declared credential set (in declaration order)."""
        out = dict(params)
        for decl in decls:
            key = store_key(application, decl.param)
            given = out.get(decl.param)
            if self.placeholders and not given:
                value = PLACEHOLDER.format(key)
            elif given:
                value = str(given)
            else:
                value = self._chosen(key, decl, out, str(out.get("namespace", "")))
            out[decl.param] = value
            if not self.placeholders:
                self.values[key] = value
                scrub.remember(value, PLACEHOLDER.format(key))
        return out

    def kept(self, key: str, rendered: str, live: tuple[str, str, str]) -> str:
        """A value a source makes anew on every render (a chart's random password): the stored
        one, else the live Secret's (namespace, name, key: an install made before), else this
        render's; a placeholder offline."""
        if self.placeholders:
            return PLACEHOLDER.format(key)
        assert self.stored is not None
        value = self.stored.get(key)
        if value is None and self.live is not None:
            value = self.live(*live)
        value = rendered if value is None else value
        self.values[key] = value
        scrub.remember(value, PLACEHOLDER.format(key))
        return value

    def _chosen(self, key: str, decl: CredentialDecl, params: Mapping[str, Any], namespace: str) -> str:
        assert self.stored is not None
        old = self.stored.get(key, "")
        if decl.bcrypt is None:
            if key in self.stored:  # kept as stored, even an adopted empty one
                return old
            adopted = self._adopted(key, decl, namespace)
            return random_value(decl.length) if adopted is None else adopted
        password = str(params.get(decl.bcrypt, ""))
        return old if old and hash_matches(password, old) else bcrypt_hash(password)

    def _adopted(self, key: str, decl: CredentialDecl, namespace: str) -> str | None:
        if decl.adopt is None or self.live is None or not namespace:
            return None
        name, secret_key = decl.adopt
        value = self.live(namespace, name, secret_key)
        if value is not None:
            self.adopted.append(f"{key} from Secret {namespace}/{name}")
        return value

    def checksum_key(self) -> bytes:
        """The per-install key of the restart annotations (a fixed one offline)."""
        if self.stored is None:
            return b"offline"
        key = self.values.setdefault(CHECKSUM_KEY, self.stored.get(CHECKSUM_KEY) or random_value(32))
        return key.encode()

    def merged(self) -> dict[str, str]:
        """What the store holds after this render: earlier values, updated by this render's."""
        return {**(self.stored or {}), **self.values}

    def changed(self) -> bool:
        """Whether the store must be written (a value was generated or the spec changed one)."""
        return self.stored is not None and any(self.stored.get(k) != v for k, v in self.values.items())


def checksum(key: bytes, secrets_read: list[Mapping[str, Any]]) -> str:
    """A keyed digest of the data of the Secrets a pod reads: it changes when a value does and,
    being keyed by a per-install random key, says nothing about the values."""
    payload = json.dumps([[s.get("data"), s.get("stringData")] for s in secrets_read], sort_keys=True)
    return hmac.new(key, payload.encode(), hashlib.sha256).hexdigest()[:32]
