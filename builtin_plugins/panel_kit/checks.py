"""A connection test's report, and the checks of the panel URL both panel plugins make alike.

Each plugin asks its own panel (which keys, which resources, what a root admin is differ);
the report it fills, and what a URL must look like, are the same.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlsplit


@dataclass
class Check:
    name: str
    ok: bool
    message: str


@dataclass
class ConnectionReport:
    checks: list[Check] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return bool(self.checks) and all(c.ok for c in self.checks)

    def add(self, name: str, ok: bool, message: str) -> bool:
        self.checks.append(Check(name, ok, message))
        return ok

    @property
    def problems(self) -> list[str]:
        return [c.message for c in self.checks if not c.ok]

    def to_dict(self) -> dict:
        return {"ok": self.ok, "checks": [c.__dict__ for c in self.checks]}


def url_problem(url: str) -> str | None:
    """What is wrong with a panel URL setting, or None."""
    if not url:
        return "No panel URL is set."
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return (
            f"{url!r} is not a web address: give the panel's URL, e.g. https://panel.example.com."
        )
    if "/api" in parts.path:
        return (
            f"Give the panel's own address without the API path ({parts.scheme}://{parts.netloc})."
        )
    return None


def echo_report(report: ConnectionReport, *, as_json: bool) -> None:
    """``pteroca <panel> test``'s output: a line a check (or the report as JSON); exit status
    1 when a check failed, so a script can act on it."""
    import json

    import click

    if as_json:
        click.echo(json.dumps(report.to_dict(), indent=2))
    else:
        for check in report.checks:
            click.echo(f"{'ok  ' if check.ok else 'FAIL'} {check.name}: {check.message}")
    if not report.ok:
        raise SystemExit(1)
