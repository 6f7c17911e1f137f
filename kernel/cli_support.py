"""Helpers shared by every CLI module: one-line failures and progress lines."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import NoReturn, ParamSpec, TypeVar

import click

P = ParamSpec("P")
R = TypeVar("R")


def fail(message: str, code: int = 1) -> NoReturn:
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


def failing_on(
    kinds: Callable[[], tuple[type[Exception], ...]],
) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """A decorator: the exceptions ``kinds()`` names (operations refused, asked when one is
    raised, so a command module imports its services only when it runs) become one clear line
    on stderr and exit status 1. Each CLI module says which refusals it expects."""

    def decorate(fn: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(fn)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            try:
                return fn(*args, **kwargs)
            except Exception as exc:
                if not isinstance(exc, kinds()):
                    raise
                message = exc.args[0] if isinstance(exc, KeyError) and exc.args else str(exc)
                fail(message)

        return wrapper

    return decorate


def progress_printer(label: str) -> Callable[[int, int, str], None]:
    def report(position: int, total: int, name: str) -> None:
        click.echo(f"[{position}/{total}] {label} {name}", err=True)

    return report
