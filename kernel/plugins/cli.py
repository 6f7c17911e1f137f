"""``pteroca plugin ...`` commands."""

from __future__ import annotations

import json

import click
from flask.cli import with_appcontext

from kernel.cli_support import fail, progress_printer, user_errors


@click.group("plugin")
def plugin_group():
    """Discover, scan, enable, disable and remove plugins."""


@plugin_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@with_appcontext
def plugin_list(as_json):
    """List every discovered plugin with its state."""
    from kernel.plugins.services import list_plugins

    rows = list_plugins()
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        click.echo("no plugins found")
    for row in rows:
        scan = row["scan"]["verdict"] if row["scan"] else "not scanned"
        line = f"{row['name']:<22} {row['version']:<10} {row['state']:<15} scan: {scan:<11} {row['source']}"
        click.echo(line + (f"  ({row['reason']})" if row["reason"] else ""))


@plugin_group.command("info")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
@user_errors
def plugin_info(name, as_json):
    """Show a plugin's manifest, state, dependencies and latest scan."""
    from kernel.plugins.services import info

    row = info(name)
    if as_json:
        click.echo(json.dumps(row, indent=2))
        return
    for key in ("name", "display_name", "version", "state", "reason", "source", "path",
                "description", "author", "license", "kernel"):
        if row[key]:
            click.echo(f"{key:<13} {row[key]}")
    click.echo(f"{'capabilities':<13} {', '.join(row['capabilities']) or '-'}")
    click.echo(f"{'requires':<13} {', '.join(f'{k} {v}' for k, v in row['requires'].items()) or '-'}")
    click.echo(f"{'dependents':<13} {', '.join(row['dependents']) or '-'}")
    click.echo(f"{'settings':<13} {', '.join(row['settings']) or '-'}")
    scan = row["scan"]
    click.echo(f"{'scan':<13} " + (f"{scan['verdict']} at {scan['at']}, {scan['findings']} findings"
                                   if scan else "not scanned"))
    for problem in row["errors"] + row["warnings"]:
        click.echo(f"problem       {problem}")


@plugin_group.command("enable")
@click.argument("name")
@click.option("--with-dependencies", is_flag=True, help="Enable required plugins first.")
@click.option("--yes", is_flag=True, help="Do not ask before enabling dependencies.")
@click.option("--accept-risk", is_flag=True, help="Accept HIGH scan findings (audit-logged).")
@with_appcontext
@user_errors
def plugin_enable(name, with_dependencies, yes, accept_risk):
    """Scan and enable a plugin; it is served by every process within seconds."""
    from kernel.plugins import deps
    from kernel.plugins.services import discover_all, enable, enabled_names, get_plugin

    if with_dependencies and not yes:
        plugins = discover_all()
        get_plugin(name, plugins)
        plan = [n for n in deps.enable_order(plugins, name) if n not in enabled_names()]
        if len(plan) > 1 and not click.confirm(f"enable {', '.join(plan)} in this order?"):
            fail("cancelled")
    done = enable(name, with_dependencies=with_dependencies, accept_risk=accept_risk, actor="cli",
                  progress=progress_printer("scanning and enabling"))
    click.echo(f"enabled: {', '.join(done)}")


@plugin_group.command("disable")
@click.argument("name")
@click.option("--cascade", is_flag=True, help="Disable plugins that depend on it first.")
@with_appcontext
@user_errors
def plugin_disable(name, cascade):
    """Disable a plugin (its data stays)."""
    from kernel.plugins.services import disable

    done = disable(name, cascade=cascade, actor="cli")
    click.echo(f"disabled: {', '.join(done)}")


@plugin_group.command("uninstall")
@click.argument("name")
@click.option("--purge", is_flag=True, help="Also revert its migrations (drops its tables) and settings.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@with_appcontext
@user_errors
def plugin_uninstall(name, purge, yes):
    """Forget a disabled plugin; drop-in folders are deleted."""
    from kernel.plugins.services import uninstall

    if purge and not yes and not click.confirm(f"drop every table and setting of {name}?"):
        fail("cancelled")
    hint = uninstall(name, purge=purge, actor="cli")
    click.echo(f"uninstalled {name}" + (f"; {hint}" if hint else ""))


def _attach_scan() -> None:
    try:
        from kernel.security.cli import scan_command
    except ImportError:  # pragma: no cover - the scan gate ships with the kernel
        return
    plugin_group.add_command(scan_command)


_attach_scan()
