"""Buying, renewing and changing the plan of servers: the money side of the lifecycle.

Money first, then the panel: a purchase debits the wallet and creates the service row, its
audit row and the job that sets the server up in one transaction (kernel.outbox); the
reconciler then creates and installs it (reconciler.py, fulfilment.py: a failure refunds
through a compensating ledger entry). Suspending, unsuspending, deleting and renaming are
transitions.py's, re-exported here.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlalchemy import delete, func, select, update

from builtin_plugins.store import events, lifecycle, notify
from builtin_plugins.store.desired import want
from builtin_plugins.store.errors import StoreError
from builtin_plugins.store.fulfilment import retry_provisioning
from builtin_plugins.store.lifecycle import ACTIVE, PROVISIONING, SUSPENDED
from builtin_plugins.store.models import PricePlan, Product, PurchaseToken, Service
from builtin_plugins.store.pricing import PricingError, next_expiry, period_price
from builtin_plugins.store.provisioning import ProvisionError, provisioner_for
from builtin_plugins.store.repeats import RepeatPurchase, recent_same
from builtin_plugins.store.transitions import MAX_NAME, lift, rename, suspend, terminate, unsuspend
from builtin_plugins.store.vouchers import (
    PURCHASE_DISCOUNT,
    VoucherError,
    discounted,
    find,
    record_use,
)
from builtin_plugins.store.wallet import billed, lock_wallet
from kernel import (
    InsufficientFunds,
    call_hook,
    call_veto,
    commit_keeping,
    db,
    ledger_credit,
    ledger_debit,
    outbox_dispatch_committed,
    record_audit,
)
from kernel import (
    now as utcnow,
)

# The lifecycle's other doors, for callers that know this module (views, staff, plugins).
__all__ = [
    "MAX_NAME",
    "StoreError",
    "change_package",
    "purchase",
    "quote",
    "quote_change",
    "rename",
    "renew",
    "retry_provisioning",
    "set_auto_renew",
    "suspend",
    "terminate",
    "unsuspend",
]


def new_purchase_token(user) -> str:
    """A one-use token for an order form. Its row is all the commit writes, so what the
    request loaded (the customer, the product) stays loaded for the page."""
    token = secrets.token_urlsafe(24)
    db.session.add(PurchaseToken(token=token, user_id=user.id))
    commit_keeping()
    return token


def quote(user, product: Product, plan: PricePlan, slots: int = 1, voucher_code: str = "") -> dict:
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
    return (
        db.session.scalar(
            select(func.count(Service.id)).where(
                Service.user_id == user_id,
                Service.product_id == product_id,
                Service.state.in_(lifecycle.LIVE),
            )
        )
        or 0
    )


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


def _refused(token: str, user, message: str) -> Service:
    """A check failed before the order form's token was looked at: a form submitted again after
    it bought its server still gets that server (one query, on this path only)."""
    db.session.rollback()
    done = _bought_with(token, user)
    if done is None:
        raise StoreError(message)
    return done


def _offer_rows(product_id: int, plan_id: int) -> tuple[Product | None, PricePlan | None]:
    """The product and the plan: from the session when the page loaded them, else one query."""
    product = db.session.identity_map.get(db.session.identity_key(Product, product_id))
    plan = db.session.identity_map.get(db.session.identity_key(PricePlan, plan_id))
    if product is not None and plan is not None:
        return db.session.get(Product, product_id), db.session.get(PricePlan, plan_id)
    row = db.session.execute(
        select(Product, PricePlan)
        .outerjoin(PricePlan, PricePlan.id == plan_id)
        .where(Product.id == product_id)
    ).first()
    return (row[0], row[1]) if row is not None else (None, None)


def purchase(
    user,
    *,
    token: str,
    product_id: int,
    plan_id: int,
    name: str,
    slots: int = 1,
    auto_renew: bool = False,
    options: dict | None = None,
    voucher_code: str = "",
    free: bool = False,
    actor: str | None = None,
    ask_repeat: bool = False,
) -> Service:
    """Buy one server. Submitting the same ``token`` again returns the same service.

    With ``ask_repeat`` (the checkout form, until the customer confirms), the same product
    under the same name bought by this customer moments ago raises
    :class:`~builtin_plugins.store.repeats.RepeatPurchase` instead of buying a second one.

    One transaction, in as few statements as its rules allow (``tests/store/
    test_statement_budget.py`` counts them): the wallet is locked before the order form's
    token is used up, so of two submissions of one form only the first buys; the checks that
    need no lock come first, and a failed one still returns the server a used form bought."""
    product, plan = _offer_rows(product_id, plan_id)
    if product is None or not product.active or plan is None:
        return _refused(token, user, "this product is not for sale")
    name = (name or "").strip()
    if not 1 <= len(name) <= MAX_NAME:
        return _refused(token, user, f"give the server a name of 1 to {MAX_NAME} characters")
    try:
        offer = quote(user, product, plan, slots, voucher_code)
    except StoreError as exc:
        return _refused(token, user, str(exc))

    lock_wallet(user.id)
    # Use the token up while holding the wallet lock: of two submissions of one order form that
    # raced past the checks above, only the one that deletes the row buys; the other finds the
    # service the first one made once the lock is released.
    used = db.session.execute(
        delete(PurchaseToken)
        .where(PurchaseToken.token == token, PurchaseToken.user_id == user.id)
        .execution_options(synchronize_session=False)
    )
    if used.rowcount != 1:
        return _token_gone(token, user)
    # From here a refusal rolls back, which gives the order form its token back.
    reason = call_veto("veto_purchase", user=user, product=product, plan=plan)
    if reason:
        db.session.rollback()
        raise StoreError(str(reason))
    problems = option_problems(product, plan, options or {}, slots)
    if problems:
        db.session.rollback()
        raise StoreError(" ".join(problems))
    if ask_repeat:  # under the lock: a second tab submitted at once waits, then is asked
        earlier = recent_same(user.id, product.id, name)
        if earlier is not None:
            db.session.rollback()
            raise RepeatPurchase(db.session.get(Service, earlier.id))
    if (
        product.per_customer_limit is not None
        and _live_count(user.id, product.id) >= product.per_customer_limit
    ):
        db.session.rollback()
        raise StoreError(f"you can have at most {product.per_customer_limit} of {product.name}")
    if product.stock is not None:
        taken = db.session.execute(
            update(Product)
            .where(Product.id == product.id, Product.stock > 0)
            .values(stock=Product.stock - 1)
            .execution_options(synchronize_session=False)
        ).rowcount
        if taken != 1:
            db.session.rollback()
            raise StoreError(f"{product.name} is sold out")
        db.session.expire(product, ["stock"])  # the UPDATE bypassed the identity map
    price = 0 if free else offer["total"]
    service = Service(
        user_id=user.id,
        product_id=product.id,
        plan_id=plan.id,
        name=name,
        state=PROVISIONING,
        expires_at=next_expiry(None, utcnow(), plan),
        auto_renew=auto_renew and product.allow_auto_renew,
        slots=slots,
        price=offer["total"],
        charged=price,
        options=options or {},
        purchase_token=token,
    )
    db.session.add(service)
    want(service)  # inserted with its sync fields; the reconciler creates and installs it
    posted = None
    try:
        if price > 0:
            posted = ledger_debit(
                user.id,
                price,
                "purchase",
                f"purchase:{service.id}",
                {"service": service.id, "server": service.name, "product": product.name},
                commit=False,
            )
        if offer["voucher"] is not None and not free:
            record_use(offer["voucher"], user, f"purchase:{service.id}", offer["discount"])
    except InsufficientFunds:
        db.session.rollback()
        raise StoreError(
            "your balance is too low for this order; top up your wallet first"
        ) from None
    except VoucherError as exc:
        db.session.rollback()
        raise StoreError(str(exc)) from None
    record_audit(
        "store.purchase",
        f"service:{service.id}",
        {"product": product.name, "price": price, "free": free},
        actor=actor,
        commit=False,
    )
    events.emit("service.created", service, price=price)  # after: the audit row is unsaved
    # The charge, the service, its audit row and its job: all or nothing. What the session
    # holds is what this transaction wrote, so nothing is reloaded for the events below.
    commit_keeping()
    if posted:
        billed(service, posted)  # billed before its job runs (inline, the job may refund it)
    outbox_dispatch_committed()  # an inline job reloads what it changed
    return service


def renew(service: Service, *, source: str = "customer", voucher_code: str = "") -> Service:
    """Pay one more period: expiry = max(now, expiry) + period. Unsuspends automatic suspensions."""
    if service.state not in (ACTIVE, SUSPENDED):
        raise StoreError(
            f"server #{service.id} cannot be renewed while {service.state.replace('_', ' ')}"
        )
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
    lock_wallet(service.user_id)
    posted = None
    try:
        if price > 0:
            posted = ledger_debit(
                service.user_id,
                price,
                "renewal",
                f"renewal:{service.id}:{old.isoformat()}",
                {"service": service.id, "server": service.name, "source": source},
                commit=False,
            )
        if voucher is not None:
            record_use(voucher, user, f"renewal:{service.id}:{old.isoformat()}", discount)
    except InsufficientFunds:
        db.session.rollback()
        raise StoreError("your balance is too low to renew; top up your wallet first") from None
    except VoucherError as exc:
        db.session.rollback()
        raise StoreError(str(exc)) from None
    moved = db.session.execute(
        update(Service)
        .where(Service.id == service.id, Service.expires_at == old)
        .values(expires_at=next_expiry(old, utcnow(), service.plan), charged=price)
    ).rowcount
    if moved != 1:  # renewed concurrently: this attempt changes nothing
        db.session.rollback()
        db.session.refresh(service)
        return service
    db.session.refresh(service)
    notify.customer(service, "server_renewed")
    lifted = service.state == SUSPENDED and service.suspension == "auto" and lift(service)
    service_id = service.id
    db.session.commit()  # the payment, the new expiry, the email and the unsuspension together
    service = db.session.get(Service, service_id)
    if posted and posted.created:
        billed(service, posted)
    call_hook("server_renewed", service=service)
    if lifted:
        call_hook("server_unsuspended", service=service)
    outbox_dispatch_committed()  # the email and the panel's unsuspension, after the events
    return db.session.get(Service, service_id)


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
    plan = next(
        (
            p
            for p in product.plans
            if p.kind == service.plan.kind
            and p.period_unit == service.plan.period_unit
            and p.period_count == service.plan.period_count
        ),
        None,
    )
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
        select(Product)
        .where(
            Product.active.is_(True),
            Product.id != service.product_id,
            Product.provisioner == service.product.provisioner,
        )
        .order_by(Product.priority.desc(), Product.name)
    ).all()
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
        lock_wallet(service.user_id)
        try:
            posted = ledger_debit(
                service.user_id,
                difference,
                "upgrade",
                reference,
                {"service": service.id, "server": service.name},
                commit=False,
            )
        except InsufficientFunds:
            db.session.rollback()
            raise StoreError(
                "your balance is too low for this upgrade; top up your wallet first"
            ) from None
        db.session.commit()
        if posted.created:
            billed(service, posted)
    try:
        provisioner_for(service.product).change_package(service, product)
    except ProvisionError as exc:
        if posted is not None and posted.created:  # the server did not change: give the money back
            back = ledger_credit(
                service.user_id,
                difference,
                "reversal",
                f"{reference}:undo",
                {"service": service.id},
            )
            if back.created:
                billed(service, back, notify=False)
        why = str(exc) if isinstance(exc, PackageRefused) else f"the panel refused: {exc}"
        raise StoreError(f"cannot change to {product.name}: {why}") from None
    credited = None
    if difference < 0:  # a downgrade is credited once the panel has changed
        credited = ledger_credit(
            service.user_id,
            -difference,
            "downgrade",
            reference,
            {"service": service.id, "server": service.name},
        )
    service.product_id, service.plan_id, service.price = product.id, plan.id, new_price
    db.session.commit()
    db.session.refresh(service)
    if credited is not None and credited.created:
        billed(service, credited, notify=False)
    record_audit(
        "store.package_changed",
        f"service:{service.id}",
        {"to": product.name, "difference": difference},
        actor=actor,
    )
    return service
