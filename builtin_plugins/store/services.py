"""Buying, provisioning, renewing, suspending and deleting servers.

Money first, then the panel: a purchase debits the wallet and creates the
service row in one transaction, and only then asks the provisioner to create
the server. A failed create refunds through a compensating ledger entry.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import delete, func, select, update

from kernel import (
    InsufficientFunds,
    call_hook,
    call_veto,
    db,
    enqueue,
    job,
    ledger_credit,
    ledger_debit,
    lock_wallet,
    notify_wallet_changed,
    now as utcnow,
    record_audit,
    record_audit_many,
)

from builtin_plugins.store import lifecycle, notify
from builtin_plugins.store.lifecycle import ACTIVE, FAILED, PROVISIONING, SUSPENDED, TERMINATED
from builtin_plugins.store.models import PricePlan, Product, PurchaseToken, Service
from builtin_plugins.store.pricing import PricingError, next_expiry, period_price
from builtin_plugins.store.provisioning import ProvisionError, provisioner_for
from builtin_plugins.store.vouchers import PURCHASE_DISCOUNT, VoucherError, discounted, find, record_use

MAX_NAME = 60


class StoreError(ValueError):
    """Why the store refused; the message is shown to the customer or admin as is."""


def _lock_wallet(user_id: int) -> None:
    """Serialise one customer's money operations (PostgreSQL row lock; SQLite locks at BEGIN)."""
    lock_wallet(user_id)


def _billed(service: Service, posted, *, notify: bool = True) -> None:
    """After the commit: ``wallet_changed`` (unless the ledger fired it already), then the
    store's ``server_billed`` event, which invoicing plugins turn into documents."""
    if notify:
        notify_wallet_changed(posted.entry)
    call_hook("server_billed", service=service, entry=posted.entry)


def new_purchase_token(user) -> str:
    token = secrets.token_urlsafe(24)
    db.session.add(PurchaseToken(token=token, user_id=user.id))
    db.session.commit()
    return token


def quote(user, product: Product, plan: PricePlan, slots: int = 1,
          voucher_code: str = "") -> dict:
    """Price of one period: ``{"price", "discount", "total", "voucher"}``; raises StoreError."""
    if plan.product_id != product.id:
        raise StoreError("that price plan does not belong to this product")
    try:
        price = period_price(plan, slots)
    except PricingError as exc:
        raise StoreError(str(exc)) from None
    total, discount, voucher = price, 0, None
    if voucher_code.strip():
        try:
            voucher = find(voucher_code, PURCHASE_DISCOUNT, user, price)
        except VoucherError as exc:
            raise StoreError(str(exc)) from None
        total, discount = discounted(voucher, price)
    return {"price": price, "discount": discount, "total": total, "voucher": voucher}


def _live_count(user_id: int, product_id: int) -> int:
    return db.session.scalar(select(func.count(Service.id)).where(
        Service.user_id == user_id, Service.product_id == product_id,
        Service.state.in_(lifecycle.LIVE))) or 0


def option_problems(product: Product, plan: PricePlan, options: dict, slots: int = 1) -> list[str]:
    """What the provisioner's optional ``validate_options`` says about checkout choices."""
    try:
        check = getattr(provisioner_for(product), "validate_options", None)
    except ProvisionError:
        return []  # the product's health problem; provisioning reports it
    return list(check(product, options, plan=plan, slots=slots) or []) if check else []


def _bought_with(token: str, user) -> Service | None:
    """The service this customer already bought with this order form's token, if any."""
    done = db.session.scalar(select(Service).where(Service.purchase_token == token))
    return done if done is not None and done.user_id == user.id else None


def _token_gone(token: str, user) -> Service:
    """A token found used up: the service the same form bought meanwhile (a second submission
    that lost the race), else the form is stale or not this customer's."""
    db.session.rollback()  # a fresh snapshot sees what the winner committed
    done = _bought_with(token, user)
    if done is None:
        raise StoreError("this order form has expired; open the product page again")
    return done


def purchase(user, *, token: str, product_id: int, plan_id: int, name: str, slots: int = 1,
             auto_renew: bool = False, options: dict | None = None, voucher_code: str = "",
             free: bool = False, actor: str | None = None) -> Service:
    """Buy one server. Submitting the same ``token`` again returns the same service."""
    done = _bought_with(token, user)
    if done is not None:
        return done
    product = db.session.get(Product, product_id)
    plan = db.session.get(PricePlan, plan_id)
    if product is None or not product.active or plan is None:
        raise StoreError("this product is not for sale")
    name = (name or "").strip()
    if not 1 <= len(name) <= MAX_NAME:
        raise StoreError(f"give the server a name of 1 to {MAX_NAME} characters")
    offer = quote(user, product, plan, slots, voucher_code)
    reason = call_veto("veto_purchase", user=user, product=product, plan=plan)
    if reason:
        raise StoreError(str(reason))
    problems = option_problems(product, plan, options or {}, slots)
    if problems:
        raise StoreError(" ".join(problems))
    token_row = db.session.get(PurchaseToken, token)
    if token_row is None or token_row.user_id != user.id:
        return _token_gone(token, user)

    _lock_wallet(user.id)
    # Use the token up while holding the wallet lock: of two submissions of one order form that
    # raced past the checks above, only the one that deletes the row buys; the other finds the
    # service the first one made once the lock is released.
    used = db.session.execute(delete(PurchaseToken).where(PurchaseToken.token == token,
                                                          PurchaseToken.user_id == user.id))
    if used.rowcount != 1:
        return _token_gone(token, user)
    if product.per_customer_limit is not None and _live_count(user.id, product.id) >= product.per_customer_limit:
        db.session.rollback()
        raise StoreError(f"you can have at most {product.per_customer_limit} of {product.name}")
    if product.stock is not None:
        taken = db.session.execute(update(Product).where(Product.id == product.id, Product.stock > 0)
                                   .values(stock=Product.stock - 1)).rowcount
        if taken != 1:
            db.session.rollback()
            raise StoreError(f"{product.name} is sold out")
    price = 0 if free else offer["total"]
    service = Service(user_id=user.id, product_id=product.id, plan_id=plan.id, name=name,
                      state=PROVISIONING, expires_at=next_expiry(None, utcnow(), plan),
                      auto_renew=auto_renew and product.allow_auto_renew, slots=slots,
                      price=offer["total"], charged=price, options=options or {},
                      purchase_token=token)
    db.session.add(service)
    db.session.flush()
    posted = None
    try:
        if price > 0:
            posted = ledger_debit(user.id, price, "purchase", f"purchase:{service.id}",
                                  {"service": service.id, "product": product.name}, commit=False)
        if offer["voucher"] is not None and not free:
            record_use(offer["voucher"], user, f"purchase:{service.id}", offer["discount"])
    except InsufficientFunds:
        db.session.rollback()
        raise StoreError("your balance is too low for this order; top up your wallet first") from None
    except VoucherError as exc:
        db.session.rollback()
        raise StoreError(str(exc)) from None
    db.session.commit()
    if posted:
        _billed(service, posted)
    record_audit("store.purchase", f"service:{service.id}", {"product": product.name, "price": price,
                                                             "free": free}, actor=actor)
    enqueue(provision, service.id)
    return db.session.get(Service, service.id)


# On rq, a provisioning job that crashes (database or network away) is tried again; a
# provisioner's refusal is not a crash: it refunds and marks the service failed below.
@job(queue="provisioning", retries=3, backoff=(10, 60, 300))
def provision(service_id: int) -> Service:
    """Job: create the server with its provisioner; refund and mark failed if that fails."""
    service = db.session.get(Service, service_id)
    if service is None or service.state != PROVISIONING:
        return service
    try:
        external_id = provisioner_for(service.product).create(service)
    except Exception as exc:  # noqa: BLE001 - any provisioner failure refunds
        return _provisioning_failed(service, exc)
    lifecycle.check(service.id, service.state, ACTIVE)
    service.state, service.external_id, service.last_error = ACTIVE, str(external_id or ""), ""
    db.session.commit()
    call_hook("server_purchased", service=service)
    notify.customer(service, "server_purchased")
    return service


def _provisioning_failed(service: Service, exc: Exception) -> Service:
    attempt = int((service.options or {}).get("attempts", 0)) + 1
    refunded = service.charged
    posted = None
    if refunded:
        posted = ledger_credit(service.user_id, refunded, "refund",
                               f"provision-refund:{service.id}:{attempt}",
                               {"service": service.id}, commit=False)
    lifecycle.check(service.id, service.state, FAILED)
    service.state, service.charged = FAILED, 0
    service.last_error = f"{type(exc).__name__}: {exc}" if not isinstance(exc, ProvisionError) else str(exc)
    service.options = {**(service.options or {}), "attempts": attempt}
    db.session.commit()
    if posted:
        _billed(service, posted)
    current_app.logger.warning("provisioning service %s failed: %s", service.id, service.last_error)
    record_audit("store.provisioning_failed", f"service:{service.id}", {"error": service.last_error,
                                                                        "refunded": refunded})
    return service


def retry_provisioning(service: Service, *, charge: bool = True, actor: str | None = None) -> Service:
    """Admin: try a failed service again, charging the period again unless ``charge`` is off."""
    lifecycle.check(service.id, service.state, PROVISIONING)
    attempt = int((service.options or {}).get("attempts", 0))
    posted = None
    _lock_wallet(service.user_id)
    if charge and service.price > 0:
        try:
            posted = ledger_debit(service.user_id, service.price, "purchase",
                                  f"purchase:{service.id}:retry{attempt}", {"service": service.id},
                                  commit=False)
        except InsufficientFunds:
            db.session.rollback()
            raise StoreError("the customer's balance cannot cover the order; retry without "
                             "charging or ask them to top up") from None
    service.state, service.charged = PROVISIONING, service.price if posted else 0
    service.expires_at = next_expiry(None, utcnow(), service.plan)
    db.session.commit()
    if posted:
        _billed(service, posted)
    record_audit("store.retry", f"service:{service.id}", {"charge": charge}, actor=actor)
    return enqueue(provision, service.id)


def renew(service: Service, *, source: str = "customer", voucher_code: str = "") -> Service:
    """Pay one more period: expiry = max(now, expiry) + period. Unsuspends automatic suspensions."""
    if service.state not in (ACTIVE, SUSPENDED):
        raise StoreError(f"server #{service.id} cannot be renewed while {service.state.replace('_', ' ')}")
    from kernel import User

    user = db.session.get(User, service.user_id)
    reason = call_veto("veto_renewal", service=service, user=user)
    if reason:
        raise StoreError(str(reason))
    price, voucher, discount = service.price, None, 0
    if voucher_code.strip():
        try:
            voucher = find(voucher_code, PURCHASE_DISCOUNT, user, price)
        except VoucherError as exc:
            raise StoreError(str(exc)) from None
        price, discount = discounted(voucher, price)
    old = service.expires_at
    _lock_wallet(service.user_id)
    posted = None
    try:
        if price > 0:
            posted = ledger_debit(service.user_id, price, "renewal",
                                  f"renewal:{service.id}:{old.isoformat()}",
                                  {"service": service.id, "source": source}, commit=False)
        if voucher is not None:
            record_use(voucher, user, f"renewal:{service.id}:{old.isoformat()}", discount)
    except InsufficientFunds:
        db.session.rollback()
        raise StoreError("your balance is too low to renew; top up your wallet first") from None
    except VoucherError as exc:
        db.session.rollback()
        raise StoreError(str(exc)) from None
    moved = db.session.execute(update(Service).where(Service.id == service.id, Service.expires_at == old)
                               .values(expires_at=next_expiry(old, utcnow(), service.plan),
                                       charged=price)).rowcount
    if moved != 1:  # renewed concurrently: this attempt changes nothing
        db.session.rollback()
        db.session.refresh(service)
        return service
    db.session.commit()
    db.session.refresh(service)
    if posted and posted.created:
        _billed(service, posted)
    call_hook("server_renewed", service=service)
    notify.customer(service, "server_renewed")
    if service.state == SUSPENDED and service.suspension == "auto":
        unsuspend(service)
    return service


def suspend(service: Service, *, manual: bool, reason: str = "", actor: str | None = None) -> Service:
    """Suspend now. Staff suspensions (``manual``) are never lifted by a payment."""
    if service.state == SUSPENDED:
        if manual and service.suspension != "manual":
            service.suspension = "manual"  # staff take over an automatic suspension
            db.session.commit()
        return service
    lifecycle.check(service.id, service.state, SUSPENDED)
    service.state, service.suspension, service.suspended_at = SUSPENDED, "manual" if manual else "auto", utcnow()
    db.session.commit()
    after_suspend(service, reason or ("staff" if manual else "expired"), actor)
    return service


def after_suspend(service: Service, reason: str, actor: str | None = None) -> None:
    """Push a suspension (already committed locally) to the panel, fire events, email."""
    after_suspend_many([service], reason, actor)


def after_suspend_many(suspended: list[Service], reason: str, actor: str | None = None) -> None:
    """:func:`after_suspend` for a batch: one audit INSERT, one commit, one email job."""
    ids = [service.id for service in suspended]
    drivers: dict[int, object] = {}
    failed = {}
    for service in suspended:
        try:
            if service.product_id not in drivers:
                drivers[service.product_id] = provisioner_for(service.product)
            drivers[service.product_id].suspend(service)
        except Exception as exc:  # noqa: BLE001 - the local state stands; reconciliation retries
            failed[service.id] = f"suspend failed: {exc}"
    if failed:
        db.session.execute(update(Service), [{"id": sid, "last_error": error}
                                             for sid, error in failed.items()])
    for service in suspended:
        call_hook("server_suspended", service=service, reason=reason)
    record_audit_many("store.suspended", [(f"service:{sid}", {"reason": reason}) for sid in ids],
                      actor=actor)
    notify.customers(ids, "server_suspended")


def unsuspend(service: Service, *, manual: bool = False, actor: str | None = None) -> Service:
    """Lift a suspension. Without ``manual`` (a payment) only automatic suspensions are lifted."""
    if service.state != SUSPENDED:
        return service
    if service.suspension == "manual" and not manual:
        return service
    if service.expires_at <= utcnow() and not manual:
        return service
    try:
        provisioner_for(service.product).unsuspend(service)
    except Exception as exc:  # noqa: BLE001
        service.last_error = f"unsuspend failed: {exc}"
        db.session.commit()
        raise StoreError(f"the server could not be unsuspended: {exc}") from None
    lifecycle.check(service.id, service.state, ACTIVE)
    service.state, service.suspension, service.suspended_at, service.last_error = ACTIVE, "", None, ""
    db.session.commit()
    record_audit("store.unsuspended", f"service:{service.id}", {"manual": manual}, actor=actor)
    call_hook("server_unsuspended", service=service)
    return service


def terminate(service: Service, *, actor: str | None = None, force: bool = False) -> Service:
    """Delete the server in the panel and end the service; the stock unit returns."""
    if service.state == TERMINATED:
        return service
    reason = call_veto("veto_deletion", service=service)
    if reason and not force:
        raise StoreError(str(reason))
    if service.state != FAILED:
        try:
            provisioner_for(service.product).terminate(service)
        except ProvisionError as exc:
            service.last_error = f"delete failed: {exc}"
            db.session.commit()
            raise StoreError(f"the server could not be deleted: {exc}") from None
    lifecycle.check(service.id, service.state, TERMINATED)
    service.state, service.terminated_at = TERMINATED, utcnow()
    if service.product.stock is not None:
        db.session.execute(update(Product).where(Product.id == service.product_id)
                           .values(stock=Product.stock + 1))
    db.session.commit()
    record_audit("store.deleted", f"service:{service.id}", actor=actor)
    call_hook("server_deleted", service=service)
    notify.customer(service, "server_deleted")
    return service


def rename(service: Service, name: str) -> Service:
    name = (name or "").strip()
    if not 1 <= len(name) <= MAX_NAME:
        raise StoreError(f"give the server a name of 1 to {MAX_NAME} characters")
    service.name = name
    db.session.commit()
    return service


def set_auto_renew(service: Service, enabled: bool) -> Service:
    if enabled and not service.product.allow_auto_renew:
        raise StoreError(f"{service.product.name} cannot renew automatically")
    service.auto_renew = enabled
    db.session.commit()
    return service


@dataclass(frozen=True)
class PackageQuote:
    """What moving a server to ``product`` costs now: ``difference`` > 0 is paid, < 0 credited."""

    product: Product
    plan: PricePlan
    new_price: int
    difference: int


def quote_change(service: Service, product: Product) -> PackageQuote:
    """Price a move to ``product`` for the rest of the period, or raise StoreError saying why not."""
    from builtin_plugins.store.pricing import prorate

    if service.state != ACTIVE:
        raise StoreError("only active servers can change plan")
    if product.id == service.product_id or not product.active:
        raise StoreError("choose another product that is for sale")
    if product.provisioner != service.product.provisioner:
        raise StoreError(f"{service.product.name} cannot be changed into {product.name}")
    plan = next((p for p in product.plans if p.kind == service.plan.kind
                 and p.period_unit == service.plan.period_unit
                 and p.period_count == service.plan.period_count), None)
    if plan is None:
        raise StoreError(f"{product.name} has no plan with the same billing period")
    try:
        new_price = period_price(plan, service.slots)
    except PricingError as exc:
        raise StoreError(str(exc)) from None
    difference = prorate(service.price, new_price, service.plan, service.expires_at, utcnow())
    return PackageQuote(product, plan, new_price, difference)


def package_options(service: Service) -> list[tuple[Product, PackageQuote | None, str]]:
    """Every other product for sale with the same provisioner: ``(product, quote, why_not)``."""
    candidates = db.session.scalars(
        select(Product).where(Product.active.is_(True), Product.id != service.product_id,
                              Product.provisioner == service.product.provisioner)
        .order_by(Product.priority.desc(), Product.name)).all()
    options = []
    for product in candidates:
        try:
            options.append((product, quote_change(service, product), ""))
        except StoreError as exc:
            options.append((product, None, str(exc)))
    return options


def change_package(service: Service, product: Product, *, actor: str | None = None) -> Service:
    """Move a server to another product of the same provisioner, paying or crediting the
    price difference for the rest of the current period."""
    from builtin_plugins.store.provisioning import PackageRefused

    quote = quote_change(service, product)
    plan, new_price, difference = quote.plan, quote.new_price, quote.difference
    reference = f"change:{service.id}:{product.id}:{service.expires_at.isoformat()}"
    posted = None
    if difference > 0:  # an upgrade is paid before the panel changes anything
        _lock_wallet(service.user_id)
        try:
            posted = ledger_debit(service.user_id, difference, "upgrade", reference,
                                  {"service": service.id}, commit=False)
        except InsufficientFunds:
            db.session.rollback()
            raise StoreError("your balance is too low for this upgrade; top up your wallet first") from None
        db.session.commit()
        if posted.created:
            _billed(service, posted)
    try:
        provisioner_for(service.product).change_package(service, product)
    except ProvisionError as exc:
        if posted is not None and posted.created:  # the server did not change: give the money back
            back = ledger_credit(service.user_id, difference, "reversal", f"{reference}:undo",
                                 {"service": service.id})
            if back.created:
                _billed(service, back, notify=False)
        why = str(exc) if isinstance(exc, PackageRefused) else f"the panel refused: {exc}"
        raise StoreError(f"cannot change to {product.name}: {why}") from None
    credited = None
    if difference < 0:  # a downgrade is credited once the panel has changed
        credited = ledger_credit(service.user_id, -difference, "downgrade", reference,
                                 {"service": service.id})
    service.product_id, service.plan_id, service.price = product.id, plan.id, new_price
    db.session.commit()
    db.session.refresh(service)
    if credited is not None and credited.created:
        _billed(service, credited, notify=False)
    record_audit("store.package_changed", f"service:{service.id}", {"to": product.name,
                                                                    "difference": difference}, actor=actor)
    return service
