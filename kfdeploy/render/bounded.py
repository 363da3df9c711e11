"""Run an evaluator call in a child process bounded in time, memory and native stack.

User jsonnet can recurse deeper than any stack (the evaluators then crash the whole process
with SIGSEGV or SIGABRT), allocate without end, or loop for hours. In a forked child each of
these ends the child only: the parent waits at most ``limits.JSONNET_SECONDS``, the child's
address space is capped at what it had plus ``limits.JSONNET_MEMORY_MB`` and the call runs on
a thread with a ``limits.JSONNET_STACK_MB`` stack, so what went wrong is named with the limit
and how to raise it. Forking costs about a millisecond and shares the parent's imports, so the
library renders no slower (bench/evaluators.py measures it).
"""

from __future__ import annotations

import faulthandler
import os
import pickle
import resource
import select
import signal
import threading
import time
from collections.abc import Callable
from typing import Any

from kfdeploy import limits

_PAGE = 4096


class LimitExceeded(Exception):
    """The child ran past ``limit`` (or crashed the way running past it does)."""

    def __init__(self, limit: limits.Limit) -> None:
        super().__init__(limits.exceeded(limit, "jsonnet evaluation"))
        self.limit = limit


def run(fn: Callable[..., Any], *args: Any) -> Any:
    """``fn(*args)`` in a bounded child; its exceptions come back as RuntimeError(text)."""
    memory, stack = limits.value(limits.JSONNET_MEMORY_MB), limits.value(limits.JSONNET_STACK_MB)
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child; its outcome is what the parent tests observe
        os.close(read_end)
        faulthandler.disable()  # the evaluator's dying words are not news: the parent names the limit
        os.dup2(os.open(os.devnull, os.O_WRONLY), 2)
        try:
            _child(write_end, fn, args, memory, stack)
        finally:
            os._exit(0)
    os.close(write_end)
    try:
        answer = _read_answer(read_end, time.monotonic() + limits.value(limits.JSONNET_SECONDS))
    finally:
        os.close(read_end)
        os.kill(pid, signal.SIGKILL)  # a zombie keeps the status it died with
        _, status = os.waitpid(pid, 0)
    if answer is None:
        raise LimitExceeded(_crash_limit(status))
    ok, value = pickle.loads(answer)
    if not ok:
        raise RuntimeError(value)
    return value


def _read_answer(fd: int, deadline: float) -> bytes | None:
    """Everything the child writes, or None when it died first; LimitExceeded at the deadline."""
    chunks: list[bytes] = []
    while True:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            raise LimitExceeded(limits.JSONNET_SECONDS)
        chunk = os.read(fd, 1 << 20)
        if not chunk:
            return b"".join(chunks) or None
        chunks.append(chunk)


def _crash_limit(status: int) -> limits.Limit:
    """A child killed by SIGSEGV overflowed its stack; any other death ran out of memory."""
    return limits.JSONNET_STACK_MB if os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGSEGV \
        else limits.JSONNET_MEMORY_MB


def _child(fd: int, fn: Callable[..., Any], args: tuple[Any, ...], memory_mb: int, stack_mb: int) -> None:
    """In the child: cap the address space, run ``fn`` on a thread with a big stack, answer."""
    mapped = _mapped_bytes()
    if mapped:
        cap = mapped + (memory_mb + stack_mb) * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    answer: list[tuple[bool, Any]] = []

    def call() -> None:
        try:
            answer.append((True, fn(*args)))
        except MemoryError:
            return  # no answer: the parent names the memory limit
        except Exception as e:  # noqa: BLE001 - every evaluator error goes back to the parent as text
            answer.append((False, str(e)))

    threading.stack_size(stack_mb * 1024 * 1024)
    worker = threading.Thread(target=call)
    worker.start()
    worker.join()
    if answer:
        data = memoryview(pickle.dumps(answer[0], protocol=pickle.HIGHEST_PROTOCOL))
        while data:
            data = data[os.write(fd, data):]


def _mapped_bytes() -> int:
    """The address space this process maps now (what the memory cap is added to); 0 where
    /proc is missing, and then memory is not capped."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[0]) * _PAGE
    except OSError:
        return 0
