"""The kernel's own hook implementations: ordinary ``trylast`` plugins, one per concern.

:func:`kernel.app.create_app` registers each module below in the app's plugin manager under
the name ``kernel.<concern>`` (:func:`register`). They are ``trylast``, so every plugin's
implementation of the same hook answers first (events such as ``user_registered`` reach the
kernel's outgoing webhooks last, after the plugins): in a collection (menus, widgets, permissions,
cron tasks) the plugin's items come first and the consumer sorts by ``order``; for a
first-answer hook (``error_page``) a plugin's answer wins and the kernel's is the fallback; in
``register_admin_views`` a plugin's view with the endpoint of a kernel view replaces it
(:mod:`kernel.admin.area`). The kernel's implementations run outside the error boundary: an
exception in them is a kernel bug (:func:`kernel.hooks.is_kernel`).
"""

from __future__ import annotations

import pluggy

from kernel.defaults import (
    admin_views,
    cron,
    error_pages,
    menus,
    permissions,
    slots,
    webhooks,
    widgets,
)
from kernel.hooks import KERNEL

# concern -> module of hook implementations
DEFAULTS = {
    "permissions": permissions,
    "menus": menus,
    "widgets": widgets,
    "slots": slots,
    "admin_views": admin_views,
    "error_pages": error_pages,
    "cron": cron,
    "webhooks": webhooks,
}


def register(pm: pluggy.PluginManager) -> None:
    """Register the kernel's default implementations in ``pm`` (once per app build)."""
    for concern, module in DEFAULTS.items():
        pm.register(module, name=f"{KERNEL}.{concern}")
