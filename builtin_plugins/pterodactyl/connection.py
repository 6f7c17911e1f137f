"""The connection test for Pterodactyl: which of URL, keys and permissions is wrong, in words
to act on. The steps are the kit's (``ConnectionTest``); what is Pterodactyl's is here: the
``ptla_``/``ptlc_`` keys, the resources read (locations and nests too), the words of its admin
screens and the ``admin`` flag of a root admin's account."""

from __future__ import annotations

from builtin_plugins.panel_kit.api import ConnectionReport, ConnectionTest, errors
from builtin_plugins.pterodactyl.panel import PanelSettings, make_client


class PterodactylConnectionTest(ConnectionTest):
    panel = "Pterodactyl"
    application_reads = (
        ("/locations", "locations"),
        ("/nodes", "nodes"),
        ("/nests", "nests"),
        ("/users", "users"),
        ("/servers", "servers"),
    )
    application_prefixes = ("ptla_",)
    client_prefixes = ("ptlc_",)
    grant = "read & write on servers, nodes, allocations, users, locations, nests and eggs"
    not_found_hint = "check the address; a Pelican panel has no nests and is not supported yet."
    key_kept = "whole and has not been deleted"
    client_key_name = "a client key (ptlc_)"
    non_admin = "a user who is not a root admin"
    root_admin = "root admin"
    root_admin_account = "a root-admin account"
    admin_flag = "admin"
    wrong_key = (errors.NotRootAdmin, errors.WrongKeyType)
    explains_two_factor = True

    def other_kind(self, key: str, label: str, *, application: bool) -> str:
        kind, other, wanted, where = (
            ("a client key", "ptlc_", "ptla_", "Admin > Application API")
            if application
            else (
                "an application key",
                "ptla_",
                "ptlc_",
                "Account > API Credentials of a root admin",
            )
        )
        return f"The {label} is {kind} ({other}...); the {label} starts with {wanted} ({where})."

    def permission_denied(self, exc: errors.PermissionDenied, label: str) -> str:
        return (
            f"The {label} lacks permission (403 {exc.detail}): edit the key in Admin > "
            "Application API."
        )

    def account(self, client) -> dict:
        return client.client.account()


def check_connection(settings: PanelSettings) -> ConnectionReport:
    """Check the URL, the application key (and its read permissions) and the client key."""
    return PterodactylConnectionTest(settings, make_client).run()
