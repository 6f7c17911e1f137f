"""pteroca kernel: the small core that every feature plugin builds on.

Public API for plugins: :data:`hookimpl`, :data:`db`, :func:`read_only`, :func:`create_app`,
:data:`__version__` and the helpers re-exported below. Everything else in
``kernel`` is private and may change between releases.
"""

from __future__ import annotations

__version__ = "0.1.0"

import pluggy

hookimpl = pluggy.HookimplMarker("pteroca")
hookspec = pluggy.HookspecMarker("pteroca")

from kernel.extensions import db, read_only  # noqa: E402


def create_app(config: dict | None = None):
    """Build the Flask application (see :mod:`kernel.app`)."""
    from kernel.app import create_app as _create_app

    return _create_app(config)


__all__ = ["__version__", "create_app", "db", "hookimpl", "hookspec", "read_only"]
