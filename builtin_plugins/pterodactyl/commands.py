"""``pteroca pterodactyl ...``: connection test, reconcile, import, user sync, simulator."""

from __future__ import annotations

import json
from dataclasses import asdict

import click
from flask.cli import with_appcontext

from builtin_plugins.panel_kit.api import echo_report, errors


class PterodactylGroup(click.Group):
    """The group; ``simulator`` is an alias of ``pteroca simulator pterodactyl``, the panel
    simulator that ships beside pteroca (the plugin itself never imports it)."""

    ALIAS = "simulator"

    def list_commands(self, ctx):
        return sorted({*super().list_commands(ctx), self.ALIAS})

    def get_command(self, ctx, name):
        if name == self.ALIAS:
            root = ctx.find_root()
            group = (
                root.command.get_command(root, "simulator")
                if isinstance(root.command, click.Group)
                else None
            )
            command = group.get_command(ctx, "pterodactyl") if group is not None else None
            return command or _unavailable(name)
        return super().get_command(ctx, name)


def _unavailable(name: str) -> click.Command:
    why = "the simulators package is not installed"

    def fail():
        raise click.ClickException(f"the {name} cannot be loaded: {why}")

    return click.Command(name, callback=fail, help=f"(unavailable: {why})")


@click.group("pterodactyl", cls=PterodactylGroup)
def pterodactyl():
    """The Pterodactyl panel: connection test, reconcile, import, user sync, simulator."""


RESUMES = " (the next run resumes after the last panel page this one finished)"


def _fail(exc: Exception) -> click.ClickException:
    return click.ClickException(errors.describe(exc))


@pterodactyl.command("test")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@with_appcontext
def test_command(as_json):
    """Check the panel URL, the application key and the client key."""
    from builtin_plugins.pterodactyl.connection import check_connection
    from builtin_plugins.pterodactyl.panel import load_settings

    echo_report(check_connection(load_settings()), as_json=as_json)


@pterodactyl.command("reconcile")
@click.option("--dry-run", is_flag=True, help="Report only; flag nothing.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option(
    "--restart", is_flag=True, help="Start from the top, not where an interrupted run stopped."
)
@with_appcontext
def reconcile_command(dry_run, as_json, restart):
    """Put back servers suspended, resized, renamed or reassigned in the panel behind pteroca's
    back (the store reconciler's own code path); report what needs a human. A run that was
    interrupted is resumed after the last panel page it finished, unless --restart."""
    from builtin_plugins.pterodactyl.reconcile import reconcile

    try:
        report = reconcile(dry_run=dry_run, restart=restart)
    except errors.PanelError as exc:
        resumes = "" if isinstance(exc, errors.NotConfigured) else RESUMES
        raise click.ClickException(errors.describe(exc) + resumes) from None
    if as_json:
        click.echo(
            json.dumps(
                {
                    "resumed": report.resumed,
                    "dry_run": report.dry_run,
                    "checked": report.checked,
                    "repaired": {str(k): v for k, v in report.repaired.items()},
                    "findings": [asdict(f) for f in report.findings],
                    "cleared": report.cleared,
                },
                indent=2,
            )
        )
        return
    if report.resumed:
        click.echo(report.resumed)
    for service_id, what in sorted(report.repaired.items()):
        click.echo(f"{'repaired':<12} server #{service_id}: {what}")
    for finding in report.findings:
        click.echo(f"{finding.kind:<12} {finding}")
    suffix = " (dry run: nothing changed or flagged)" if dry_run else ""
    click.echo(
        f"{report.checked} servers checked, {len(report.repaired)} repaired, "
        f"{len(report.findings)} findings need a human{suffix}"
    )


@pterodactyl.command("import")
@click.option(
    "--product",
    "product_slug",
    required=True,
    help="Slug of the Pterodactyl product the imported servers belong to.",
)
@click.option(
    "--server",
    "server_ids",
    multiple=True,
    type=int,
    help="Import only this panel server id (repeatable).",
)
@click.option("--dry-run", is_flag=True, help="Show what would be imported.")
@with_appcontext
def import_command(product_slug, server_ids, dry_run):
    """Import existing panel servers for local customers with the same email."""
    from builtin_plugins.pterodactyl.importer import ImportRefused, import_servers

    try:
        report = import_servers(product_slug, dry_run=dry_run, server_ids=tuple(server_ids))
    except (ImportRefused, errors.PanelError) as exc:
        raise _fail(exc) from None
    for server_id, service_id, email in report.imported:
        target = "would import" if dry_run else f"imported as server #{service_id}"
        changes = report.differences.get(server_id)
        limits = f" (its limits become the product's: {', '.join(changes)})" if changes else ""
        click.echo(f"panel server {server_id}: {target} for {email}{limits}")
    for server_id, why in sorted(report.skipped.items()):
        click.echo(f"panel server {server_id}: skipped, {why}")
    click.echo(
        f"{len(report.imported)} imported, {len(report.skipped)} skipped"
        + (" (dry run)" if dry_run else "")
    )


@pterodactyl.command("sync-users")
@with_appcontext
def sync_users_command():
    """Create or link a panel user for every account that has none."""
    from builtin_plugins.pterodactyl.sync import sync_all

    try:
        report = sync_all()
    except errors.PanelError as exc:
        raise _fail(exc) from None
    for email, why in sorted(report.failed.items()):
        click.echo(f"FAIL {email}: {why}")
    click.echo(
        f"{len(report.created)} created, {len(report.linked)} linked to existing panel "
        f"users, {len(report.failed)} failed"
    )
    if report.failed:
        raise SystemExit(1)
