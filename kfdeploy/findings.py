"""What a pre-flight check reports: one finding per thing checked, OK / WARN / FAIL, naming the
object and the fix. Kept free of imports so platforms can report cloud findings in the same shape."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Status = Literal["OK", "WARN", "FAIL"]


@dataclass(frozen=True)
class Finding:
    check: str
    status: Status
    object: str
    message: str
    fix: str = ""

    def to_data(self) -> dict[str, Any]:
        return {"check": self.check, "status": self.status, "object": self.object,
                "message": self.message, **({"fix": self.fix} if self.fix else {})}

    def line(self) -> str:
        text = f"{self.status:<4}  {self.check:<10} {self.object}: {self.message}"
        return text + (f"\n            fix: {self.fix}" if self.fix and self.status != "OK" else "")


def ok(check: str, obj: str, message: str) -> Finding:
    return Finding(check, "OK", obj, message)


def warn(check: str, obj: str, message: str, fix: str) -> Finding:
    return Finding(check, "WARN", obj, message, fix)


def fail(check: str, obj: str, message: str, fix: str) -> Finding:
    return Finding(check, "FAIL", obj, message, fix)


@dataclass
class Report:
    findings: list[Finding] = field(default_factory=list)
    verbose: int = 1  # text(): 0 shows only WARN and FAIL

    @property
    def failed(self) -> list[Finding]:
        return [f for f in self.findings if f.status == "FAIL"]

    @property
    def exit_code(self) -> int:
        return 1 if self.failed else 0

    def counts(self) -> dict[str, int]:
        return {s: sum(f.status == s for f in self.findings) for s in ("OK", "WARN", "FAIL")}

    def to_data(self) -> dict[str, Any]:
        return {"ok": not self.failed, "counts": self.counts(), "findings": [f.to_data() for f in self.findings]}

    def text(self) -> str:
        shown = [f for f in self.findings if self.verbose or f.status != "OK"]
        c = self.counts()
        summary = f"Preflight: {c['OK']} ok, {c['WARN']} warning(s), {c['FAIL']} failure(s)."
        if self.failed:
            summary += " Fix the failures above (apply --skip-preflight goes on regardless)."
        return "\n".join([f.line() for f in shown] + [summary])
