"""``pteroca plugin scan [NAME|--all] [--json] [--force]``."""

from __future__ import annotations

import json
import sys

import click
from flask.cli import with_appcontext

from kernel.security.findings import Verdict
from kernel.security.models import ScanRecord

VERDICT_COLORS = {"pass": "green", "warn": "yellow", "block": "red"}
SEVERITY_COLORS = {"CRITICAL": "red", "HIGH": "yellow", "MEDIUM": "cyan", "LOW": None}


def _echo_table(records: list[ScanRecord]) -> None:
    click.echo(
        f"{'PLUGIN':<22} {'VERSION':<10} {'VERDICT':<8} {'ADVISORIES':<12} CRITICAL HIGH MEDIUM LOW"
    )
    for rec in records:
        counts = rec.counts()
        verdict = click.style(f"{rec.verdict:<8}", fg=VERDICT_COLORS.get(rec.verdict))
        click.echo(
            f"{rec.plugin:<22} {rec.version:<10} {verdict} {rec.advisory_state:<12} "
            f"{counts['CRITICAL']:>8} {counts['HIGH']:>4} {counts['MEDIUM']:>6} "
            f"{counts['LOW']:>3}"
        )


def _echo_findings(record: ScanRecord) -> None:
    findings = record.finding_objects()
    if not findings:
        return
    click.echo(f"\n{record.plugin} {record.version}:")
    for f in findings:
        severity = click.style(f"{f.severity.name:<8}", fg=SEVERITY_COLORS[f.severity.name])
        click.echo(f"  {severity} {f.check:<9} {f.rule:<20} {f.location}")
        click.echo(f"           {f.message}")


@click.command("scan")
@click.argument("name", required=False)
@click.option("--all", "scan_all", is_flag=True, help="Scan every discovered plugin.")
@click.option("--json", "as_json", is_flag=True, help="Print the scan records as JSON.")
@click.option("--force", is_flag=True, help="Scan again even when a fresh record exists.")
@with_appcontext
def scan_command(name: str | None, scan_all: bool, as_json: bool, force: bool) -> None:
    """Scan plugins (bandit, kernel rules, pip-audit, file checks); exit 1 if any is blocked.

    A ``block`` verdict for an enabled plugin blocks and unloads it, as the admin's Scan
    button does.
    """
    from kernel.plugin_lifecycle.rescan import active_names, scan_and_enforce
    from kernel.plugin_lifecycle.services import discover_all

    if bool(name) == scan_all:
        raise click.UsageError("give a plugin NAME or --all")
    plugins = discover_all()
    was_active = active_names()
    if name:
        if name not in plugins:
            known = ", ".join(sorted(plugins)) or "none"
            click.echo(f"error: no plugin named {name!r} (installed: {known})", err=True)
            sys.exit(2)
        records = [scan_and_enforce(plugins[name], force=force, actor="cli")]
    else:
        records = []
        with click.progressbar(
            sorted(plugins.values(), key=lambda p: p.name),
            label="scanning plugins",
            file=sys.stderr,
            item_show_func=lambda p: p.name if p else "",
        ) as bar:
            for plugin in bar:
                records.append(scan_and_enforce(plugin, force=force, actor="cli"))

    if as_json:
        click.echo(json.dumps([r.to_dict() for r in records], indent=2))
    elif records:
        _echo_table(records)
        for record in records:
            _echo_findings(record)
    else:
        click.echo("no plugins found")
    for record in records:
        if record.verdict == Verdict.BLOCK and record.plugin in was_active:
            click.echo(f"{record.plugin} is now blocked and unloaded from every process", err=True)
    if any(r.verdict == Verdict.BLOCK for r in records):
        sys.exit(1)
