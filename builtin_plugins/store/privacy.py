"""The store's answers to the kernel's privacy hooks.

Export: the customer's servers (what they bought, their names and choices, states and dates)
and the vouchers they used. Erasure: every live server is deleted through the store's normal
path (:func:`services.terminate`: the stock returns, ``server_deleted`` fires and the
reconciler deletes it in the panel), then what the customer typed is cleared from the rows,
which stay (without anything personal) because the ledger's purchases and renewals refer to
them. Until the panel has followed (the reconciler's job may still be queued, or retrying a
panel that cannot delete right now) this raises, so the plugins after the store (the panel
user's deletion) wait and the kernel tries the erasure again later.
"""

from __future__ import annotations

from sqlalchemy import select

from builtin_plugins.store import services
from builtin_plugins.store.desired import PENDING, STUCK
from builtin_plugins.store.lifecycle import PANEL_DELETED, PROVISIONING, TERMINATED
from builtin_plugins.store.models import PurchaseToken, Service, Voucher, VoucherUsage
from kernel import db


class ServersStillRunning(Exception):
    """A server of the account could not be deleted yet (the erasure is tried again later)."""


def _servers(user_id: int) -> list[Service]:
    return list(
        db.session.scalars(select(Service).where(Service.user_id == user_id).order_by(Service.id))
    )


def export(user) -> dict:
    servers = [
        {
            "id": s.id,
            "name": s.name,
            "product": s.product.name,
            "plan": str(s.plan),
            "state": s.state,
            "created_at": s.created_at,
            "expires_at": s.expires_at,
            "terminated_at": s.terminated_at,
            "auto_renew": s.auto_renew,
            "slots": s.slots,
            "price_per_period": s.price,
            "choices": s.options or {},
        }
        for s in _servers(user.id)
    ]
    used = db.session.execute(
        select(VoucherUsage, Voucher.code)
        .join(Voucher, Voucher.id == VoucherUsage.voucher_id)
        .where(VoucherUsage.user_id == user.id)
        .order_by(VoucherUsage.id)
    ).all()
    vouchers = [
        {"code": code, "amount": usage.amount, "used_at": usage.created_at} for usage, code in used
    ]
    return {"servers": servers, "vouchers": vouchers}


def erase(user) -> None:
    waiting = []
    for service in _servers(user.id):
        if service.state == PROVISIONING:  # being created right now: delete it next time
            waiting.append(f"#{service.id} is being created")
            continue
        if service.state != TERMINATED:
            try:
                services.terminate(service, actor="privacy", force=True)
            except services.StoreError as exc:
                waiting.append(f"#{service.id}: {exc}")
                continue
        if (
            service.desired_state == PANEL_DELETED
            and service.sync_status in (PENDING, STUCK)
            and service.panel_state != PANEL_DELETED
        ):
            waiting.append(f"#{service.id} is being deleted in the panel")
        service.name, service.options, service.last_error = f"server {service.id}", {}, ""
    db.session.execute(db.delete(PurchaseToken).where(PurchaseToken.user_id == user.id))
    db.session.commit()
    if waiting:
        raise ServersStillRunning("servers not deleted yet: " + "; ".join(waiting))
