"""Secret values never reach a message: every value the run learns is remembered here, and
every line kfdeploy prints (errors, progress, results) passes through ``scrub``.

Values are remembered where they come into being: a ``spec.secrets`` value when it is resolved
(``SecretSpec.resolve``), a generated or stored credential when a render fills it in
(``Credentials.fill``). The printers (``cli.run``, ``progress.Printer``) scrub; nothing else has
to remember to. Values shorter than ``MIN_LENGTH`` are not scrubbed: replacing every "ab" in
the output would hide more than it protects (and such a value protects nothing).
"""

from __future__ import annotations

import threading

MIN_LENGTH = 4
_known: dict[str, str] = {}  # value -> what is printed instead
_lock = threading.Lock()


def remember(value: str, placeholder: str) -> None:
    """From now on, print ``placeholder`` wherever ``value`` would appear."""
    if len(value) >= MIN_LENGTH:
        with _lock:
            _known.setdefault(value, placeholder)


def scrub(text: str) -> str:
    """``text`` with every remembered value replaced by its placeholder (longest first, so a
    value that contains another is replaced whole)."""
    with _lock:
        known = sorted(_known.items(), key=lambda item: -len(item[0]))
    for value, placeholder in known:
        if value in text:
            text = text.replace(value, placeholder)
    return text


def forget_all() -> None:
    """Forget every value (a new run in the same process, e.g. tests)."""
    with _lock:
        _known.clear()
