"""Balance history lines in words: "Server bought: Survival", "Top-up", "Refund: Survival".

The ledger keeps a ``kind`` and a ``meta`` dict per movement; the customer reads a label for the
kind and, when the movement was about a server, the server's name as it was then (a plugin that
posts for a server puts it in ``meta["server"]``, as the store does).
"""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l

from kernel.payments.models import LedgerEntry

KIND_LABELS: dict[str, Any] = {
    "topup": _l("Top-up"),
    "purchase": _l("Server bought"),
    "renewal": _l("Renewal"),
    "upgrade": _l("Plan upgrade"),
    "downgrade": _l("Plan downgrade credit"),
    "refund": _l("Refund"),
    "voucher": _l("Voucher redeemed"),
    "adjustment": _l("Adjustment"),
    "reversal": _l("Payment taken back"),
    "reinstated": _l("Payment returned"),
}


def describe(entry: LedgerEntry) -> str:
    """One line for ``entry``: the kind in words, then the server's name when there is one."""
    kind = str(KIND_LABELS.get(entry.kind, entry.kind.replace("_", " ").capitalize()))
    meta = entry.meta or {}
    server = str(meta.get("server") or "").strip()
    reason = str(meta.get("reason") or "").strip() if entry.kind == "adjustment" else ""
    detail = server or reason
    return f"{kind}: {detail}" if detail else kind


def lines(entries: list[LedgerEntry]) -> list[dict[str, Any]]:
    """What the wallet page shows per movement (plain values for the theme)."""
    return [
        {"created_at": e.created_at, "amount": e.amount, "kind": e.kind, "text": describe(e)}
        for e in entries
    ]
