"""oauth_login's public module: what a plugin requiring oauth_login may import.

A plugin declaring ``oauth_login`` in ``[requires]`` (a Discord role-sync plugin, say) reads
linked identities here, and may implement the events of :mod:`.hookspecs`
(``oauth_login_identity_linked``, ``oauth_login_identity_unlinked``) after declaring them as
capabilities. Names here change only through a deprecation.

    from builtin_plugins.oauth_login.api import identity_for

    discord = identity_for(user.id, "discord")
    if discord is not None:
        give_role(discord.subject)      # Discord's user id
"""

from __future__ import annotations

from .identities import LinkedIdentity, find, of_user

__all__ = ["LinkedIdentity", "identity_for", "linked_identities", "user_id_for"]


def linked_identities(user_id: int) -> list[LinkedIdentity]:
    """Every identity linked to the account, by provider name."""
    return [LinkedIdentity.of(row) for row in of_user(user_id)]


def identity_for(user_id: int, provider: str) -> LinkedIdentity | None:
    """The account's identity at ``provider`` ("discord", "google", "github", "oidc"), or None."""
    return next((i for i in linked_identities(user_id) if i.provider == provider), None)


def user_id_for(provider: str, subject: str) -> int | None:
    """The local account a provider account is linked to (e.g. from a Discord user id)."""
    row = find(provider, str(subject))
    return row.user_id if row is not None else None
