"""A local AWS for the EKS platform tests: moto in server mode on 127.0.0.1, plus a recorder of
every API call a boto3 session makes (operation name and parameters, as sent)."""

from __future__ import annotations

import logging
import os
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import boto3
from moto.server import ThreadedMotoServer

FAKE_ENV = {
    "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing", "AWS_DEFAULT_REGION": "us-west-2",
    "MOTO_IAM_LOAD_MANAGED_POLICIES": "true", "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
}


@contextmanager
def moto_server() -> Iterator[str]:
    """A moto server on a free port of 127.0.0.1; yields its URL."""
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


def reset(url: str) -> None:
    """Forget every resource (moto's reset API), so each test starts from an empty account."""
    urllib.request.urlopen(urllib.request.Request(f"{url}/moto-api/reset", method="POST"))


@dataclass
class Calls:
    """API calls seen by a session: ``(service, Operation, params)`` in order."""

    seen: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)

    def hook(self, model: Any, params: dict[str, Any], **_: Any) -> None:
        self.seen.append((model.service_model.service_name, model.name, params))

    def ops(self, prefix: str = "") -> list[str]:
        return [f"{s}:{op}" for s, op, _ in self.seen if op.startswith(prefix)]

    def params(self, operation: str) -> list[dict[str, Any]]:
        return [p for _, op, p in self.seen if op == operation]

    def clear(self) -> None:
        self.seen.clear()


def recording_session(calls: Calls, region: str = "us-west-2") -> boto3.Session:
    """A session with fake credentials whose clients report each call to ``calls``."""
    session = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing",
                            region_name=region)
    session.events.register("before-parameter-build.*.*", calls.hook)
    return session
