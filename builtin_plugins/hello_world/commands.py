"""``pteroca hello ...``: a plugin's own CLI commands."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from builtin_plugins.hello_world import services


@click.group("hello")
def hello():
    """hello_world's commands."""


@hello.command("greet")
@click.argument("text")
@with_appcontext
def greet(text):
    """Add a greeting."""
    try:
        greeting = services.add_greeting(text, by="cli")
    except services.GreetingError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(greeting.text)
