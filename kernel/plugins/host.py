"""The plugin host of an app: what one build knows about plugins, and where an app keeps it.

:mod:`kernel.plugin_lifecycle.loader` builds a :class:`PluginHost` per app build and
``create_app`` stores it under :data:`HOST_KEY`; everything else reads it through
:func:`plugin_host` or :func:`plugin_manager`. It lives below the hook caller and the scan
gate because both sides need it: the error boundary (:mod:`kernel.hooks`) calls the host's
manager, plugin health takes a faulted plugin out of it, and plugin settings read the
manifests it discovered.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pluggy
from flask import Flask, current_app

from kernel.plugins.discovery import DiscoveredPlugin

# The key of the host in ``app.extensions``.
HOST_KEY = "pteroca"


@dataclass
class PluginHost:
    """What one app build knows about plugins: the manager, what loaded and what did not."""

    pm: pluggy.PluginManager
    discovered: dict[str, DiscoveredPlugin]
    generation: int = 0
    loaded: dict[str, object] = field(default_factory=dict)  # name -> plugin object
    problems: dict[str, str] = field(default_factory=dict)  # name -> why it is not loaded


def plugin_host(app: Flask | None = None) -> PluginHost:
    """The :class:`PluginHost` of ``app`` (default: the current app)."""
    return (app or current_app).extensions[HOST_KEY]


def plugin_manager(app: Flask | None = None) -> pluggy.PluginManager:
    """The pluggy plugin manager of ``app`` (default: the current app)."""
    return plugin_host(app).pm
