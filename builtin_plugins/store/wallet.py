"""The store's use of the wallet: one customer's money operations one at a time, and what
every wallet movement of a server announces once committed."""

from __future__ import annotations

from kernel import call_hook, notify_wallet_changed
from kernel import lock_wallet as _lock


def lock_wallet(user_id: int) -> None:
    """Serialise one customer's money operations (PostgreSQL row lock; SQLite locks at BEGIN)."""
    _lock(user_id)


def billed(service, posted, *, notify: bool = True) -> None:
    """After the commit: ``wallet_changed`` (unless the ledger fired it already), then the
    store's ``server_billed`` event, which invoicing plugins turn into documents."""
    if notify:
        notify_wallet_changed(posted.entry)
    call_hook("server_billed", service=service, entry=posted.entry)
