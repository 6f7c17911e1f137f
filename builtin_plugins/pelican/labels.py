"""Words for the events of a server's Activity tab (Pelican's event names are Pterodactyl's)
and for this plugin's audit entries, answered to the kernel's ``audit_labels`` hook."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from builtin_plugins.panel_kit.api import ACTIVITY_LABELS, tab_action_labels

LABELS = {
    **ACTIVITY_LABELS,
    **tab_action_labels("pelican"),
    "pelican.user_created": _l("Pelican user created"),
    "pelican.user_linked": _l("Pelican user linked"),
    "pelican.sync_failed": _l("Pelican user sync failed"),
    "pelican.imported": _l("Pelican server imported"),
    "pelican.connection_test": _l("Pelican connection tested"),
    "pelican.reconciled": _l("Pelican servers checked against the panel"),
    "pelican.erase_local_only": _l("Pelican user erased locally only"),
}
