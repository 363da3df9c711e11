"""What the kind and minikube platforms share: finding their CLI, running it, reading its failures.

Both platforms drive a command-line tool the user installed (never a shell string), stream its
progress lines while it works, and turn its error output into a PlatformError that says what to
do. Both write the cluster's kubeconfig to a file of kfdeploy's own, so the user's
``~/.kube/config`` and current context are never changed.
"""

from __future__ import annotations

import os
import queue
import re
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from kfdeploy.errors import PlatformError, ToolMissingError
from kfdeploy.library import default_root
from kfdeploy.platforms import Progress
from kfdeploy.tools import tool_env_var

HEARTBEAT = 30.0
"""Seconds of silence from the tool after which a "still working" progress line is sent."""


def find_cli(name: str, install_hint: str, env: Mapping[str, str] | None = None) -> str:
    """``KFDEPLOY_<NAME>_BINARY``, else ``name`` on PATH; ToolMissingError says how to install it."""
    env = os.environ if env is None else env
    var = tool_env_var(name)
    override = env.get(var)
    if override:
        if Path(override).is_file() and os.access(override, os.X_OK):
            return override
        raise ToolMissingError(f"{name} not found: {var}={override} is not an executable file",
                               hint=f"fix or unset {var}")
    found = shutil.which(name, path=env.get("PATH"))
    if found:
        return found
    raise ToolMissingError(f"{name} not found on PATH (or in {var})", hint=install_hint)


def platform_defaults(kind: str, root: Path | None = None) -> dict[str, Any]:
    """``platforms/<kind>.yaml`` as a mapping (empty when the file is absent or unreadable)."""
    path = (root or default_root()) / "platforms" / f"{kind}.yaml"
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError):
        return {}
    return data if isinstance(data, dict) else {}


@dataclass(frozen=True)
class Result:
    """What a finished command printed and how it exited."""

    command: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + ("\n" if self.stdout and self.stderr else "") + self.stderr

    @property
    def ok(self) -> bool:
        return self.returncode == 0


def run(command: Sequence[str], env: Mapping[str, str], timeout: float) -> Result:
    """Run a short query command (``get clusters``, ``profile list``) and capture its output."""
    try:
        done = subprocess.run(list(command), env=dict(env), capture_output=True, text=True,
                              timeout=timeout, check=False)
    except subprocess.TimeoutExpired as e:
        raise timed_out(command, timeout) from e
    return Result(tuple(command), done.returncode, done.stdout, done.stderr)


def run_streaming(command: Sequence[str], env: Mapping[str, str], timeout: float,
                  progress: Progress, pick: Callable[[str], str | None],
                  what: str = "working") -> Result:
    """Run a long command, sending each line ``pick`` keeps to ``progress`` as it arrives.

    stdout and stderr are merged (both tools print progress on one and errors on the other);
    the whole output comes back in ``Result.stdout`` for error mapping. The command runs in its
    own process group, so a timeout stops the tool and the children it started.
    """
    proc = subprocess.Popen(list(command), env=dict(env), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, errors="replace",
                            start_new_session=True)
    lines: queue.Queue[str | None] = queue.Queue()
    reader = threading.Thread(target=_pump, args=(proc, lines), daemon=True)
    reader.start()
    seen: list[str] = []
    start = last = time.monotonic()
    while True:
        now = time.monotonic()
        if now - start > timeout:
            _stop(proc)
            raise timed_out(command, timeout, "\n".join(seen[-10:]))
        try:
            line = lines.get(timeout=min(1.0, timeout))
        except queue.Empty:
            if now - last >= HEARTBEAT:
                progress(f"{what} ... {now - start:.0f}s")
                last = now
            continue
        if line is None:
            break
        seen.append(line)
        shown = pick(line)
        if shown:
            progress(shown)
            last = time.monotonic()
    reader.join()
    return Result(tuple(command), proc.wait(), "\n".join(seen), "")


def _pump(proc: subprocess.Popen[str], lines: queue.Queue[str | None]) -> None:
    assert proc.stdout is not None
    for line in proc.stdout:
        lines.put(line.rstrip("\n"))
    lines.put(None)


def _stop(proc: subprocess.Popen[str]) -> None:
    """Stop the tool's process group (SIGTERM, then SIGKILL after 10 s)."""
    for sig, wait in ((signal.SIGTERM, 10.0), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(proc.pid, sig)
            proc.wait(timeout=wait)
            return
        except ProcessLookupError:
            return
        except subprocess.TimeoutExpired:
            continue


def timed_out(command: Sequence[str], timeout: float, tail: str = "") -> PlatformError:
    shown = " ".join([Path(command[0]).name, *command[1:]])
    last = f"; its last output:\n{tail}" if tail else ""
    return PlatformError(f"`{shown}` did not finish within {timeout:.0f}s and was stopped{last}",
                         hint="check that Docker works (`docker info`) and that the host is not "
                              "out of memory or disk, then run the command again")


@dataclass(frozen=True)
class Failure:
    """One known failure: a regex over the tool's output and what to tell the user.

    ``message`` and ``hint`` are ``str.format`` templates; they see the caller's ``facts``
    (name, image, version, ...), ``port`` (first number the ``port`` group caught) and ``line``
    (the output line that matched).
    """

    pattern: str
    message: str
    hint: str

    def match(self, output: str) -> re.Match[str] | None:
        return re.search(self.pattern, output, re.IGNORECASE | re.MULTILINE)


def explain(failures: Sequence[Failure], result: Result, facts: Mapping[str, Any],
            fallback_hint: str) -> PlatformError:
    """The PlatformError for a failed command: the first known failure whose pattern matches,
    else the command and the end of its output."""
    shown = " ".join([Path(result.command[0]).name, *result.command[1:]])
    for failure in failures:
        found = failure.match(result.output)
        if found:
            values = {**facts, "port": _group(found, "port"), "line": _line_of(result.output, found)}
            return PlatformError(f"`{shown}` failed: {failure.message.format(**values)}\n"
                                 f"  {values['line']}", hint=failure.hint.format(**values))
    tail = "\n".join(result.output.strip().splitlines()[-15:])
    return PlatformError(f"`{shown}` failed (exit code {result.returncode}):\n{tail}",
                         hint=fallback_hint.format(**facts))


def _group(found: re.Match[str], name: str) -> str:
    try:
        return found.group(name) or "?"
    except IndexError:
        return "?"


def _line_of(text: str, found: re.Match[str]) -> str:
    """The whole output line holding a match, trimmed, for quoting in the error."""
    begin = text.rfind("\n", 0, found.start()) + 1
    end = text.find("\n", found.end())
    return text[begin:end if end >= 0 else len(text)].strip()
