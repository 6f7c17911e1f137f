"""What a scan reports: findings with an ordered severity, and the verdict they lead to."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum, StrEnum
from typing import Any


class Severity(IntEnum):
    """Ordered: ``Severity.CRITICAL > Severity.HIGH > Severity.MEDIUM > Severity.LOW``."""

    LOW = 1
    MEDIUM = 2
    HIGH = 3
    CRITICAL = 4

    def __str__(self) -> str:
        return self.name

    @classmethod
    def parse(cls, value: str | int | Severity) -> Severity:
        if isinstance(value, str):
            return cls[value.upper()]
        return cls(value)


class Verdict(StrEnum):
    """``block`` refuses enabling, ``warn`` needs an explicit confirmation, ``pass`` is clean."""

    PASS = "pass"
    WARN = "warn"
    BLOCK = "block"


@dataclass(frozen=True)
class Finding:
    """One problem a check found.

    ``file`` is relative to the plugin's folder (or names the manifest or the
    distribution metadata for dependency findings); ``line`` is None when the
    finding is about a whole file. ``message`` reads ``"<subject>: <explanation>"``.
    """

    check: str  # "bandit" | "ast" | "pip-audit" | "files"
    rule: str  # a bandit test id, an advisory id, or a file rule name
    severity: Severity
    file: str
    line: int | None
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "check": self.check,
            "rule": self.rule,
            "severity": self.severity.name,
            "file": self.file,
            "line": self.line,
            "message": self.message,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Finding:
        return cls(
            check=data["check"],
            rule=data["rule"],
            severity=Severity.parse(data["severity"]),
            file=data.get("file", ""),
            line=data.get("line"),
            message=data.get("message", ""),
        )

    @property
    def location(self) -> str:
        return f"{self.file}:{self.line}" if self.line else self.file

    def brief(self) -> str:
        """A short form for one-line messages: ``bandit B307 eval at x.py:3``."""
        subject = self.message.partition(": ")[0] if ": " in self.message else ""
        text = f"{self.check} {self.rule}"
        if subject and subject != self.file:
            text += f" {subject}"
        return f"{text} at {self.location}" if self.location else text


def sort_key(finding: Finding) -> tuple:
    """Worst first, then by place."""
    return (-int(finding.severity), finding.file, finding.line or 0, finding.check, finding.rule)
