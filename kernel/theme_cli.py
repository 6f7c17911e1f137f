"""``pteroca theme list [--json]`` and ``pteroca theme create NAME``."""

from __future__ import annotations

import json

import click
from flask import current_app
from flask.cli import with_appcontext

from kernel.cli_support import fail


@click.group("theme")
def theme_group():
    """List and create themes."""


@theme_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print the themes as JSON.")
@with_appcontext
def theme_list(as_json: bool) -> None:
    """List installed themes; the active one is marked."""
    from kernel import themes

    found = themes.discover_themes(themes.themes_dir())
    active = themes.active_theme_name()
    rows = [{**t.to_dict(), "active": t.name == active} for t in found.values()]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    for row in rows:
        mark = "*" if row["active"] else " "
        problem = f"  INVALID: {'; '.join(row['errors'])}" if row["errors"] else ""
        click.echo(
            f"{mark} {row['name']:<20} {row['version']:<8} {row['display_name']:<24} "
            f"{row['path']}{problem}"
        )


@theme_group.command("create")
@click.argument("name")
@with_appcontext
def theme_create(name: str) -> None:
    """Copy the default theme to THEMES_DIR/NAME as a starting point."""
    from kernel import themes

    try:
        theme = themes.create_theme(name, current_app.config["THEMES_DIR"], actor="cli")
    except themes.ThemeError as exc:
        fail(str(exc))
    except OSError as exc:
        fail(f"could not create the theme: {exc}")
    click.echo(f"created theme {theme.name} in {theme.path}")
    click.echo("activate it in the admin (Themes) once you have changed what you need")
