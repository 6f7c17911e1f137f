"""Helpers shared by every CLI module: one-line failures and progress lines."""

from __future__ import annotations

import functools
import sys

import click


def fail(message: str, code: int = 1):
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


def user_errors(fn):
    """Turn refused operations into one clear line on stderr and exit status 1."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        from kernel.accounts.services import AccountError
        from kernel.plugins.services import user_errors as plugin_errors
        from kernel.plugins.settings import SettingError

        try:
            return fn(*args, **kwargs)
        except (*plugin_errors(), AccountError, SettingError, KeyError) as exc:
            message = exc.args[0] if isinstance(exc, KeyError) and exc.args else str(exc)
            fail(message)

    return wrapper


def progress_printer(label: str):
    def report(position: int, total: int, name: str) -> None:
        click.echo(f"[{position}/{total}] {label} {name}", err=True)

    return report
