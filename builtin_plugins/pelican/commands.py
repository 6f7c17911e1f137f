"""``pteroca pelican ...``: connection test, reconcile, import, user sync."""

from __future__ import annotations

import json
from dataclasses import fields

import click
from flask.cli import with_appcontext

from builtin_plugins.panel_kit.api import echo_report, errors


@click.group("pelican")
def pelican():
    """The Pelican panel: connection test, reconcile, import, user sync."""


@pelican.command("test")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@with_appcontext
def test_command(as_json):
    """Check the panel URL, the application key (papp_) and the Root Admin's client key (pacc_)."""
    from builtin_plugins.pelican.connection import check_connection
    from builtin_plugins.pelican.panel import load_settings

    echo_report(check_connection(load_settings()), as_json=as_json)


RESUMES = " (the next run resumes after the last panel page this one finished)"


@pelican.command("reconcile")
@click.option("--dry-run", is_flag=True, help="Report what differs; change nothing.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option(
    "--restart", is_flag=True, help="Start from the top, not where an interrupted run stopped."
)
@with_appcontext
def reconcile_command(dry_run, as_json, restart):
    """Put back servers changed in Pelican behind pteroca's back; report what needs a human.
    A run that was interrupted is resumed after the last panel page it finished, unless
    --restart."""
    from builtin_plugins.pelican.reconcile import reconcile

    try:
        report = reconcile(dry_run=dry_run, restart=restart)
    except errors.PanelError as exc:
        resumes = "" if isinstance(exc, errors.NotConfigured) else RESUMES
        raise click.ClickException(errors.describe(exc) + resumes) from None
    if as_json:
        found = {f.name: getattr(report, f.name) for f in fields(report) if f.name != "run"}
        click.echo(json.dumps({"resumed": report.resumed, **found}, indent=2, default=str))
        return
    if report.resumed:
        click.echo(report.resumed)
    click.echo(f"checked {report.checked} server(s){' (dry run)' if dry_run else ''}")
    for service_id, changes in report.differences.items():
        click.echo(f"  #{service_id}: would {', '.join(changes)}")
    for service_id, what in report.repaired.items():
        click.echo(f"  #{service_id}: {what}")
    for service_id, what in report.findings.items():
        click.echo(f"  NEEDS A HUMAN #{service_id}: {what}")
    for server_id in report.orphans:
        click.echo(
            f"  orphan: Pelican server {server_id} carries our external id; no service owns it"
        )


@pelican.command("import")
@click.argument("product_slug")
@click.option("--server", "server_ids", type=int, multiple=True, help="Only these server ids.")
@click.option("--dry-run", is_flag=True, help="Report only.")
@with_appcontext
def import_command(product_slug, server_ids, dry_run):
    """Import Pelican servers as services of PRODUCT_SLUG, owned by local accounts matched by
    email."""
    from builtin_plugins.pelican.importer import ImportRefused, import_servers

    try:
        report = import_servers(product_slug, dry_run=dry_run, server_ids=tuple(server_ids))
    except (ImportRefused, errors.PanelError) as exc:
        raise click.ClickException(str(exc)) from None
    for server_id, service_id, email in report.imported:
        target = f"service #{service_id}" if service_id else "(dry run)"
        click.echo(f"imported Pelican server {server_id} -> {target} of {email}")
        for change in report.differences.get(server_id, []):
            click.echo(f"    limit to change at the next reconcile: {change}")
    for server_id, why in report.skipped.items():
        click.echo(f"skipped Pelican server {server_id}: {why}")


@pelican.command("sync-users")
@with_appcontext
def sync_users_command():
    """Create or link a Pelican user for every account that has none."""
    from builtin_plugins.pelican.sync import sync_all

    try:
        report = sync_all()
    except errors.PanelError as exc:
        raise click.ClickException(errors.describe(exc)) from None
    click.echo(
        f"created {len(report.created)}, linked {len(report.linked)}, failed {len(report.failed)}"
    )
    for email, why in report.failed.items():
        click.echo(f"  {email}: {why}")
