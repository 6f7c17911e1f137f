"""Words for the events of a server's Activity tab (the panel's own event names) and for this
plugin's audit entries, answered to the kernel's ``audit_labels`` hook."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from builtin_plugins.panel_kit.api import ACTIVITY_LABELS, tab_action_labels

LABELS = {
    **ACTIVITY_LABELS,
    # this plugin's audit entries
    "pterodactyl.user_created": _l("Game panel account created"),
    "pterodactyl.user_linked": _l("Game panel account linked"),
    "pterodactyl.user_updated": _l("Game panel account updated"),
    "pterodactyl.user_deleted": _l("Game panel account deleted"),
    "pterodactyl.connection_test": _l("Panel connection tested"),
    "pterodactyl.drift": _l("Server differs from the panel"),
    "pterodactyl.imported": _l("Servers imported from the panel"),
    "pterodactyl.reconciled": _l("Servers checked against the panel"),
    "pterodactyl.sync_failed": _l("Panel sync failed"),
    "pterodactyl.erase_local_only": _l("Panel data erased locally"),
    **tab_action_labels("pterodactyl"),
}
