"""The connection test for Pelican: which of URL, keys and permissions is wrong, in words to
act on (reference §1.1, §10.1). The steps are the kit's (``ConnectionTest``); what is Pelican's
is here.

The application key is a ``papp_`` key (one carried over from Pterodactyl keeps its ``ptla_``
identifier and works); its per-resource permissions are read by asking each resource the
plugin uses: ``/eggs``, ``/nodes``, ``/users``, ``/servers`` (Pelican has no ``/locations``
nor ``/nests``: a 404 on ``/eggs`` means the URL is a Pterodactyl panel or not a panel). The
client key is a ``pacc_`` key of a **Root Admin**: another user's key reaches only that
user's servers.
"""

from __future__ import annotations

from builtin_plugins.panel_kit.api import ConnectionReport, ConnectionTest
from builtin_plugins.pelican.panel import PelicanSettings, make_client


class PelicanConnectionTest(ConnectionTest):
    panel = "Pelican"
    application_reads = (
        ("/eggs", "egg"),
        ("/nodes", "node"),
        ("/users", "user"),
        ("/servers", "server"),
    )
    application_prefixes = ("papp_", "ptla_")
    client_prefixes = ("pacc_", "ptlc_")
    grant = "read & write on server, node, allocation, user and egg (Admin > API Keys)"
    not_found_hint = "check the address; a Pterodactyl panel is served by the pterodactyl plugin."
    key_kept = "whole, has not expired and has not been deleted"
    client_key_name = "a pacc_ key"
    non_admin = "a user with no admin role"
    root_admin = "Root Admin"
    root_admin_account = "a Root Admin account"
    admin_flag = "root_admin"

    def other_kind(self, key: str, label: str, *, application: bool) -> str:
        where = "Admin > API Keys" if application else "the Root Admin's Account > API Keys"
        wanted = (self.application_prefixes if application else self.client_prefixes)[0]
        return (
            f"The {label} starts with {key[:5]}, which is the other kind of key; the {label} "
            f"starts with {wanted} ({where})."
        )


def check_connection(settings: PelicanSettings) -> ConnectionReport:
    """Check the URL, the application key (and its read permissions) and the client key."""
    return PelicanConnectionTest(settings, make_client).run()
