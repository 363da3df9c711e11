"""The existing platform's checks, platform selection, and the cluster create result line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from kfdeploy.errors import PlatformError, UsageError
from kfdeploy.platforms import PLATFORMS, get_platform, no_progress
from kfdeploy.platforms.existing import ExistingPlatform, resolve_kubeconfig
from kfdeploy.spec import PLATFORM_KINDS, KfDef, parse_spec
from kfdeploy.workflow.cluster_verbs import summary_text


def existing_spec(tmp_path: Path, context: str, kubeconfig: str | None = "kubeconfig"
                  ) -> KfDef:
    block: dict[str, Any] = {"context": context}
    if kubeconfig:
        block["kubeconfig"] = kubeconfig
    data = {"apiVersion": "kfdef.apps.kubeflow.org/v1", "kind": "KfDef",
            "metadata": {"name": "prod"},
            "spec": {"platform": {"kind": "existing", "existing": block}}}
    return parse_spec(data, "kfdef.yaml", tmp_path)


def write_kubeconfig(path: Path, server: str) -> None:
    """A kubeconfig with context ``dead`` whose server refuses connections."""
    path.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "dead",
        "clusters": [{"name": "dead", "cluster": {"server": server}}],
        "users": [{"name": "dead", "user": {"token": "t"}}],
        "contexts": [{"name": "dead", "context": {"cluster": "dead", "user": "dead"}}],
    }))


@pytest.mark.parametrize(("configured", "env", "expected"), [
    ("conf/kc.yaml", {"KUBECONFIG": "/ignored"}, "{base}/conf/kc.yaml"),
    ("/abs/kc.yaml", {}, "/abs/kc.yaml"),
    (None, {"KUBECONFIG": "/a/first:/b/second"}, "/a/first"),
], ids=["relative-to-spec", "absolute", "first-of-KUBECONFIG"])
def test_resolve_kubeconfig(tmp_path: Path, configured: str | None, env: dict[str, str],
                            expected: str) -> None:
    assert resolve_kubeconfig(configured, tmp_path, env) == Path(expected.format(base=tmp_path))


def test_resolve_kubeconfig_defaults_to_home() -> None:
    assert resolve_kubeconfig(None, Path("."), {}) == Path.home() / ".kube" / "config"


def test_unreachable_context_names_context_and_kubeconfig(tmp_path: Path) -> None:
    write_kubeconfig(tmp_path / "kubeconfig", "http://127.0.0.1:9")
    spec = existing_spec(tmp_path, "dead")
    with pytest.raises(PlatformError) as err:
        ExistingPlatform().ensure_cluster(spec, no_progress)
    assert err.value.message.startswith(
        f"cannot reach the cluster of context 'dead' (kubeconfig {tmp_path / 'kubeconfig'})")
    assert "kubectl --kubeconfig" in (err.value.hint or "")
    # The underlying reason is shown, not the name of an exception class, and stays chained.
    assert "Connection refused" in err.value.message and "PlatformError" not in err.value.message
    assert err.value.__cause__ is not None


def test_a_server_without_tls_where_tls_is_expected_names_the_tls_failure(tmp_path: Path) -> None:
    import socket
    import threading
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)

    def answer_in_plain_http() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            conn.sendall(b"HTTP/1.1 400 Bad Request\r\n\r\n")
            conn.close()

    threading.Thread(target=answer_in_plain_http, daemon=True).start()
    try:
        write_kubeconfig(tmp_path / "kubeconfig", f"https://127.0.0.1:{listener.getsockname()[1]}")
        with pytest.raises(PlatformError) as err:
            ExistingPlatform().ensure_cluster(existing_spec(tmp_path, "dead"), no_progress)
    finally:
        listener.close()
    assert "TLS: " in err.value.message, err.value.message


def test_unknown_context_lists_the_known_ones(tmp_path: Path) -> None:
    write_kubeconfig(tmp_path / "kubeconfig", "http://127.0.0.1:9")
    with pytest.raises(PlatformError) as err:
        ExistingPlatform().ensure_cluster(existing_spec(tmp_path, "prod"), no_progress)
    assert err.value.message == f"context 'prod' is not in kubeconfig {tmp_path / 'kubeconfig'}"
    assert err.value.hint == "set spec.platform.existing.context to one of: dead"


def test_missing_kubeconfig_file(tmp_path: Path) -> None:
    with pytest.raises(PlatformError, match="kubeconfig .*nope.yaml does not exist"):
        ExistingPlatform().ensure_cluster(existing_spec(tmp_path, "x", "nope.yaml"), no_progress)


def test_existing_platform_never_deletes_the_cluster(tmp_path: Path) -> None:
    with pytest.raises(PlatformError, match="does not delete the cluster of context dead"):
        ExistingPlatform().delete_cluster(existing_spec(tmp_path, "dead"))


@pytest.mark.parametrize("kind", sorted(PLATFORMS))
def test_every_registered_platform_has_the_interface(kind: str) -> None:
    platform = get_platform(kind)
    assert all(callable(getattr(platform, m, None))
               for m in ("ensure_cluster", "kubeconfig", "delete_cluster", "describe", "preflight"))


def test_every_platform_kind_of_the_spec_is_registered() -> None:
    assert set(PLATFORM_KINDS) == set(PLATFORMS)


def test_an_unknown_platform_names_the_known_ones() -> None:
    with pytest.raises(UsageError, match="unknown platform 'nomad'; one of eks, existing, gke"):
        get_platform("nomad")


@pytest.mark.parametrize(("summary", "text"), [
    ({"nodes": 4, "ready": 4, "gpuNodes": 1, "gpus": 4},
     "cluster kubeflow ready: 4 nodes (1 GPU node, 4 GPUs), kubeconfig /k.yaml"),
    ({"nodes": 1, "ready": 1, "gpuNodes": 0, "gpus": 0},
     "cluster kubeflow ready: 1 node, kubeconfig /k.yaml"),
    ({"nodes": 3, "ready": 2, "gpuNodes": 2, "gpus": 1},
     "cluster kubeflow ready: 3 nodes (2 GPU nodes, 1 GPU), 1 not Ready yet, kubeconfig /k.yaml"),
], ids=["gpu", "cpu-only", "not-ready"])
def test_summary_text(summary: dict[str, int], text: str) -> None:
    assert summary_text("kubeflow", summary, Path("/k.yaml")) == text


def test_a_platform_whose_sdk_is_missing_says_which_extra_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    import builtins
    real_import = builtins.__import__

    def no_google(name: str, *args: object, **kwargs: object) -> object:
        if name.startswith("google"):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return real_import(name, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.delitem(__import__("sys").modules, "kfdeploy.platforms.gke", raising=False)
    monkeypatch.setattr(builtins, "__import__", no_google)
    with pytest.raises(PlatformError, match="needs the Python package") as err:
        get_platform("gke")
    assert "kfdeploy[cloud]" in str(err.value)
