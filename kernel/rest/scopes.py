"""The API's scopes: what a token may do, and the permission its owner needs to be given it.

A token's scopes are a subset of this table, fixed when it is made. A scope with a
permission is also checked against the owner's role on every call, so a token stops
working for admin endpoints the moment its owner loses the permission (no token outlives
a demotion).
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

# scope -> (what it allows, permission the owner needs or None)
# The descriptions are shown on the token pages, in the reader's language.
SCOPES: dict[str, tuple[str, str | None]] = {
    "read:account": (_l("Read your profile"), None),
    "read:wallet": (_l("Read your balance, ledger and payments"), None),
    "write:wallet": (_l("Start top-ups"), None),
    "read:catalog": (_l("Read the catalog and price quotes"), None),
    "read:servers": (_l("List and read your servers"), None),
    "write:servers": (_l("Buy, rename, renew and power your servers"), None),
    "admin:users": (_l("List, create and block users; adjust balances"), "admin.users"),
    "admin:payments": (_l("List and refund payments"), "admin.payments"),
    "admin:services": (_l("List, suspend, unsuspend and terminate any server"), "admin.access"),
    "admin:catalog": (_l("Create and change products, plans and vouchers"), "admin.access"),
    "admin:plugins": (_l("List, scan, enable and disable plugins"), "admin.plugins"),
    "admin:webhooks": (_l("Register outgoing webhooks and replay deliveries"), "admin.settings"),
}

CUSTOMER_SCOPES = tuple(name for name, (_, perm) in SCOPES.items() if perm is None)


class ScopeError(ValueError):
    """A scope that does not exist or that the token's owner may not hold."""


def permission_for(scope: str) -> str | None:
    return SCOPES[scope][1]


def grantable(user) -> list[str]:
    """The scopes ``user`` may put on a token of theirs."""
    return [name for name, (_, perm) in SCOPES.items() if perm is None or user.has_permission(perm)]


def check_grant(user, scopes: list[str]) -> list[str]:
    """``scopes`` cleaned (unique, known, in table order), or ScopeError naming the first
    one ``user`` may not hold: a customer cannot mint an admin token."""
    wanted = set(scopes)
    unknown = sorted(wanted - SCOPES.keys())
    if unknown:
        raise ScopeError(f"unknown scope: {unknown[0]}")
    allowed = set(grantable(user))
    for name in SCOPES:
        if name in wanted and name not in allowed:
            raise ScopeError(f"this account may not hold the scope {name}")
    if not wanted:
        raise ScopeError("choose at least one scope")
    return [name for name in SCOPES if name in wanted]


def holds(user, scopes: list[str], needed: str) -> bool:
    """True when a token with ``scopes`` of ``user`` may call an endpoint needing ``needed``."""
    if needed not in scopes or needed not in SCOPES:
        return False
    perm = permission_for(needed)
    return perm is None or user.has_permission(perm)
