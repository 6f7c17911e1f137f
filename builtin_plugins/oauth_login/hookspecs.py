"""oauth_login's own hooks (registered through ``register_hookspecs``).

A plugin implements them after requiring oauth_login and declaring the hook's name as a
capability; it reads identities at any time through :mod:`.api`.
"""

from __future__ import annotations

from kernel import hookspec


@hookspec
def oauth_login_identity_linked(user, identity):
    """Event: ``identity`` (``api.LinkedIdentity``) was linked to ``user`` (link or sign-up)."""


@hookspec
def oauth_login_identity_unlinked(user, identity):
    """Event: ``identity`` (``api.LinkedIdentity``) was unlinked from ``user`` (or erased)."""
