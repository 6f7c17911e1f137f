"""``pteroca plugin ...`` commands."""

from __future__ import annotations

import json

import click
from flask.cli import with_appcontext

from kernel.cli_support import fail, failing_on, progress_printer
from kernel.plugin_lifecycle.scan_cli import scan_command


def _refusals() -> tuple[type[Exception], ...]:
    from kernel.plugin_lifecycle.services import user_errors as plugin_errors
    from kernel.setting_types import SettingError

    return (*plugin_errors(), SettingError, KeyError)


user_errors = failing_on(_refusals)


@click.group("plugin")
def plugin_group():
    """Discover, scan, enable, disable and remove plugins."""


@plugin_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@with_appcontext
def plugin_list(as_json):
    """List every discovered plugin with its state."""
    from kernel.plugin_lifecycle.services import list_plugins

    rows = list_plugins()
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        click.echo("no plugins found")
    for row in rows:
        line = (
            f"{row['name']:<22} {row['version']:<10} {row['state']:<15} "
            f"scan: {row['verdict']:<11} {row['source']}"
        )
        click.echo(
            line
            + (f"  ({row['reason']})" if row["reason"] else "")
            + _errors_note(row["hook_errors"])
        )


def _errors_note(errors: dict) -> str:
    """``  hook errors: 3 (last: user_registered: ValueError: ...)`` for a plugin whose hooks
    raised; nothing for a healthy one."""
    if not errors["count"]:
        return ""
    return (
        f"  hook errors: {errors['count']} (last: {errors['last_hook']}: "
        f"{errors['last_error'][:120]})"
    )


@plugin_group.command("info")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
@user_errors
def plugin_info(name, as_json):
    """Show a plugin's manifest, state, dependencies and latest scan."""
    from kernel.plugin_lifecycle.services import info

    row = info(name)
    if as_json:
        click.echo(json.dumps(row, indent=2))
        return
    for key in (
        "name",
        "display_name",
        "version",
        "state",
        "reason",
        "verdict",
        "source",
        "path",
        "description",
        "author",
        "license",
        "kernel",
    ):
        if row[key]:
            click.echo(f"{key:<13} {row[key]}")
    click.echo(f"{'capabilities':<13} {', '.join(row['capabilities']) or '-'}")
    click.echo(
        f"{'requires':<13} {', '.join(f'{k} {v}' for k, v in row['requires'].items()) or '-'}"
    )
    click.echo(f"{'dependents':<13} {', '.join(row['dependents']) or '-'}")
    click.echo(f"{'settings':<13} {', '.join(row['settings']) or '-'}")
    errors = row["hook_errors"]
    click.echo(
        f"{'hook errors':<13} "
        + (
            f"{errors['count']}, {errors['in_a_row']} in a row; last at {errors['last_error_at']} "
            f"in {errors['last_hook']}: {errors['last_error']}"
            if errors["count"]
            else "none"
        )
    )
    scan = row["scan"]
    click.echo(
        f"{'latest scan':<13} "
        + (f"{scan['verdict']} at {scan['at']}, {scan['findings']} findings" if scan else "none")
    )
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
    from kernel.plugin_lifecycle.services import discover_all, enable, enabled_names, get_plugin
    from kernel.plugins import deps

    if with_dependencies and not yes:
        plugins = discover_all()
        get_plugin(name, plugins)
        plan = [n for n in deps.enable_order(plugins, name) if n not in enabled_names()]
        if len(plan) > 1 and not click.confirm(f"enable {', '.join(plan)} in this order?"):
            fail("cancelled")
    done = enable(
        name,
        with_dependencies=with_dependencies,
        accept_risk=accept_risk,
        actor="cli",
        progress=progress_printer("scanning and enabling"),
    )
    click.echo(f"enabled: {', '.join(done)}")


@plugin_group.command("disable")
@click.argument("name")
@click.option("--cascade", is_flag=True, help="Disable plugins that depend on it first.")
@with_appcontext
@user_errors
def plugin_disable(name, cascade):
    """Disable a plugin (its data stays)."""
    from kernel.plugin_lifecycle.services import disable

    done = disable(name, cascade=cascade, actor="cli")
    click.echo(f"disabled: {', '.join(done)}")


@plugin_group.command("uninstall")
@click.argument("name")
@click.option(
    "--purge", is_flag=True, help="Also revert its migrations (drops its tables) and settings."
)
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@with_appcontext
@user_errors
def plugin_uninstall(name, purge, yes):
    """Forget a disabled plugin; drop-in folders are deleted."""
    from kernel.plugin_lifecycle.services import uninstall

    if purge and not yes and not click.confirm(f"drop every table and setting of {name}?"):
        fail("cancelled")
    hint = uninstall(name, purge=purge, actor="cli")
    click.echo(f"uninstalled {name}" + (f"; {hint}" if hint else ""))


@plugin_group.command("new")
@click.argument("name")
@click.option(
    "--dir",
    "parent",
    default=".",
    show_default=True,
    type=click.Path(file_okay=False, path_type=str),
    help="Folder in which to create the project folder pteroca-NAME.",
)
def plugin_new(name, parent):
    """Create a pip-installable plugin project to start from (page, widget, setting, tests)."""
    import os
    from pathlib import Path

    from kernel.config import DEFAULTS, ENV_PREFIX
    from kernel.plugins.discovery import discover
    from kernel.plugins.scaffold import ScaffoldError, create_project

    # No app and no database needed: the plugins folder comes straight from the environment.
    plugins_dir = Path(os.environ.get(ENV_PREFIX + "PLUGINS_DIR") or DEFAULTS["PLUGINS_DIR"][0])
    try:
        project = create_project(name, parent, installed=discover(plugins_dir.resolve()))
    except ScaffoldError as exc:
        fail(str(exc))
    click.echo(
        f"created {project.path} (plugin {project.name}, distribution {project.distribution}):"
    )
    for rel in project.files:
        click.echo(f"  {rel}")
    click.echo("next:")
    click.echo(f"  cd {project.path}")
    click.echo("  pip install -e '.[test]'   # into the environment where pteroca runs")
    click.echo("  pytest                      # the generated tests, with pteroca's fixtures")
    click.echo(f"  pteroca plugin enable {project.name}")


@plugin_group.command("install-zip")
@click.argument("archive", type=click.Path(exists=True, dir_okay=False, path_type=str))
@with_appcontext
@user_errors
def plugin_install_zip(archive):
    """Unpack a drop-in plugin from a zip archive into the plugins folder (not enabled)."""
    from kernel.plugin_lifecycle.upload import install_zip

    with open(archive, "rb") as fh:
        plugin = install_zip(fh, actor="cli")
    click.echo(
        f"installed {plugin.name} {plugin.version} in {plugin.path}; it is not enabled: "
        f"run 'pteroca plugin enable {plugin.name}' (it is scanned first)"
    )


plugin_group.add_command(scan_command)
