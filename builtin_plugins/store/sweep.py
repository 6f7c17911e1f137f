"""The lifecycle cron tasks: renew or suspend what is due, delete what was left unpaid.

Each task works in batches and is safe to run twice or concurrently: a server is
claimed with a guarded UPDATE (state and expiry unchanged since it was read),
so two runners never process the same server for the same period.

A batch of suspensions is one transaction: the claim (state and desired panel state), the
audit rows, the customers' email job and the reconciler's job that suspends them in the panel
(kernel.outbox). A runner killed after that commit leaves nothing undone (the jobs are handed
over by whoever looks next) and one killed before it leaves the servers due, for the runner
that takes its slot over: every suspension is pushed, audited and emailed exactly once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.orm import selectinload

from builtin_plugins.store import desired, notify, services
from builtin_plugins.store.lifecycle import ACTIVE, SUSPENDED
from builtin_plugins.store.models import PricePlan, Product, Service
from builtin_plugins.store.pricing import next_expiry
from builtin_plugins.store.provisioning import provisioner_for
from kernel import (
    call_hook,
    db,
    outbox_commit,
    record_audit_many,
    settings_for,
)
from kernel import (
    now as utcnow,
)


@dataclass
class SweepResult:
    renewed: list[int] = field(default_factory=list)
    suspended: list[int] = field(default_factory=list)
    deleted: list[int] = field(default_factory=list)
    skipped: list[int] = field(default_factory=list)  # on-demand periods not charged
    errors: dict[int, str] = field(default_factory=dict)

    @property
    def processed(self) -> int:
        return len(self.renewed) + len(self.suspended) + len(self.deleted) + len(self.skipped)


def _settings() -> dict:
    return settings_for("store")


def run_lifecycle(now=None, batch: int | None = None) -> SweepResult:
    """Every minute: for each active server past its expiry, renew, charge on demand, suspend or delete."""
    now = now or utcnow()
    batch = batch or _settings()["sweep_batch"]
    delete_at_expiry = _settings()["delete_after_days"] == 0
    result = SweepResult()
    # The due ids come from the (state, expires_at, id) index alone; they are then handled in
    # id order, batch by batch, so each batch touches neighbouring table pages and a run costs
    # time in proportion to the servers it processes. Each batch re-checks state and expiry:
    # a server renewed or taken by a concurrent run meanwhile is skipped.
    due = db.session.scalars(
        select(Service.id)
        .where(Service.state == ACTIVE, Service.expires_at <= now)
        .order_by(Service.id)
    ).all()
    keep = set(db.session.identity_map.keys())
    for start in range(0, len(due), batch):
        chunk = due[start : start + batch]
        rows = db.session.execute(
            select(
                Service.id,
                Service.expires_at,
                Service.auto_renew,
                PricePlan.kind,
                Product.allow_auto_renew,
            )
            .join(PricePlan, Service.plan_id == PricePlan.id)
            .join(Product, Service.product_id == Product.id)
            .where(Service.id.in_(chunk), Service.state == ACTIVE, Service.expires_at <= now)
            .order_by(Service.id)
        ).all()
        to_suspend = []
        for row in rows:
            if row.kind == "on_demand":
                _on_demand(row.id, row.expires_at, now, result)
            elif not (row.auto_renew and row.allow_auto_renew and _try_renew(row.id, result)):
                to_suspend.append(row.id)
        if delete_at_expiry:
            for service_id in to_suspend:
                _delete(service_id, result)
        else:
            _suspend_batch(to_suspend, now, result)
        _release(Service, keep)
    return result


def _release(model, keep: set) -> None:
    """Drop the rows a batch loaded from the session so a long sweep keeps flat memory
    (rows the caller held before the sweep, ``keep``, stay)."""
    for key, obj in list(db.session.identity_map.items()):
        if isinstance(obj, model) and key not in keep:
            db.session.expunge(obj)


def _try_renew(service_id: int, result: SweepResult) -> bool:
    service = db.session.get(Service, service_id)
    try:
        services.renew(service, source="auto")
    except services.StoreError:
        db.session.rollback()
        return False
    result.renewed.append(service_id)
    return True


def _on_demand(service_id: int, expires_at, now, result: SweepResult) -> None:
    """Charge the period that just ended only if the server ran; else move on for free."""
    service = db.session.get(Service, service_id)
    try:
        running = provisioner_for(service.product).status(service).running
    except Exception as exc:  # noqa: BLE001 - unknown status: try again next minute
        result.errors[service_id] = f"status failed: {exc}"
        return
    if running:
        try:
            services.renew(service, source="on_demand")
            result.renewed.append(service_id)
        except services.StoreError:
            db.session.rollback()
            _suspend_batch([service_id], now, result)
        return
    moved = db.session.execute(
        update(Service)
        .where(Service.id == service_id, Service.expires_at == expires_at)
        .values(expires_at=next_expiry(expires_at, now, service.plan), charged=0)
    ).rowcount
    db.session.commit()
    if moved:
        result.skipped.append(service_id)


def _suspend_batch(ids: list[int], now, result: SweepResult) -> None:
    if not ids:
        return
    claimed = (
        db.session.execute(
            update(Service)
            .where(Service.id.in_(ids), Service.state == ACTIVE, Service.expires_at <= now)
            .values(
                state=SUSPENDED, suspension="auto", suspended_at=now, **desired.wanted(SUSPENDED)
            )
            .returning(Service.id)
        )
        .scalars()
        .all()
    )
    if not claimed:
        db.session.commit()
        return
    claimed = sorted(claimed)
    record_audit_many(
        "store.suspended",
        [(f"service:{sid}", {"reason": "expired"}) for sid in claimed],
        actor="system",
        commit=False,
    )
    notify.customers(claimed, "server_suspended")
    desired.enqueue(claimed)  # the reconciler suspends them in the panel
    outbox_commit()
    result.suspended.extend(claimed)
    for service in db.session.scalars(
        select(Service)
        .options(selectinload(Service.product))
        .where(Service.id.in_(claimed))
        .order_by(Service.id)
    ):
        call_hook("server_suspended", service=service, reason="expired")


def _delete(service_id: int, result: SweepResult) -> None:
    service = db.session.get(Service, service_id)
    try:
        services.terminate(service)
    except services.StoreError as exc:
        db.session.rollback()
        result.errors[service_id] = str(exc)
        return
    result.deleted.append(service_id)


def run_cleanup(now=None) -> SweepResult:
    """Daily: delete servers suspended for non-payment longer than the setting; warn before."""
    now = now or utcnow()
    days = _settings()["delete_after_days"]
    result = SweepResult()
    if days <= 0:
        return result
    cutoff = now - timedelta(days=days)
    due = db.session.scalars(
        select(Service.id).where(
            Service.state == SUSPENDED, Service.suspension == "auto", Service.suspended_at <= cutoff
        )
    ).all()
    for service_id in due:
        _delete(service_id, result)
    warn_days = _settings()["deletion_warning_days"]
    if warn_days > 0:
        # deleted within the next ``warn_days`` days (the due ones are gone already)
        soon = db.session.scalars(
            select(Service).where(
                Service.state == SUSPENDED,
                Service.suspension == "auto",
                Service.suspended_at <= cutoff + timedelta(days=warn_days),
            )
        ).all()
        for service in soon:
            if service.options.get("deletion_warned"):
                continue
            service.options = {**service.options, "deletion_warned": True}
            notify.customer(
                service, "deletion_warning", delete_at=service.suspended_at + timedelta(days=days)
            )
            outbox_commit()  # the mark and the email together
    current_app.logger.info("store cleanup: %s deleted", len(result.deleted))
    return result
