"""The public store, the order calculator, checkout and balance vouchers. Thin: the rules live in
``services``, ``catalog`` and ``vouchers``."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from builtin_plugins.store import catalog, services
from builtin_plugins.store.models import PricePlan, Product, Service
from builtin_plugins.store.pricing import PricingError
from builtin_plugins.store.provisioning import ProvisionError, provisioner_for
from builtin_plugins.store.repeats import RepeatPurchase
from builtin_plugins.store.services import StoreError
from builtin_plugins.store.vouchers import VoucherError, redeem_balance
from kernel import (
    SettingError,
    db,
    format_amount,
    render_fragment,
    site_setting,
    verified_required,
    wallet_balance,
)

bp = Blueprint("store", __name__)


def currency() -> str:
    return site_setting("currency")


def _slots(value: Any, plan: PricePlan | None) -> int:
    if plan is None:
        return 1
    if plan.kind != "slot":
        return plan.min_slots
    try:
        return int(value)
    except (TypeError, ValueError):
        return plan.min_slots


@bp.get("/store")
def store_index():
    cats = catalog.categories()
    sections = [(c, catalog.products_in(c)) for c in cats]
    return render_template(
        "store/index.html",
        sections=[s for s in sections if s[1]],
        categories=cats,
        featured=catalog.featured_products(),
        uncategorised=catalog.products_in(None),
        currency=currency(),
    )


@bp.get("/store/<category_slug>")
def category(category_slug: str):
    found = catalog.category_by_slug(category_slug) or abort(404)
    return render_template(
        "store/category.html",
        category=found,
        categories=catalog.categories(),
        products=catalog.products_in(found),
        currency=currency(),
    )


@bp.get("/store/product/<slug>")
def product(slug: str):
    found = catalog.product_by_slug(slug) or abort(404)
    plan = catalog.plan_of(found, request.args.get("plan")) or catalog.cheapest(found)
    slots = _slots(request.args.get("slots"), plan)
    try:
        price = catalog.preview(found, plan, slots)
    except PricingError:
        slots = plan.min_slots
        price = catalog.preview(found, plan, slots)
    return render_template(
        "store/product.html",
        product=found,
        plan=plan,
        slots=slots,
        offer={"price": price, "discount": 0, "total": price},
        currency=currency(),
    )


@bp.post("/store/quote")
def quote():
    """The calculator: ``{product, plan, slots, voucher}`` -> formatted price, discount, total."""
    data = request.get_json(silent=True) or request.form
    found = catalog.product_by_slug(str(data.get("product", ""))) or abort(404)
    plan = catalog.plan_of(found, data.get("plan")) or abort(404)
    slots, code = _slots(data.get("slots"), plan), str(data.get("voucher") or "").strip()
    try:
        if current_user.is_authenticated:
            offer = services.quote(current_user, found, plan, slots, code)
        elif code:
            raise StoreError(_("Log in to use a voucher code."))
        else:
            price = catalog.preview(found, plan, slots)
            offer = {"price": price, "discount": 0, "total": price}
    except (StoreError, PricingError) as exc:
        db.session.rollback()
        return jsonify(ok=False, error=str(exc)), 400
    db.session.rollback()  # a quote changes nothing; release the voucher row read for update
    money = currency()
    return jsonify(
        ok=True,
        slots=slots,
        total_minor=offer["total"],
        price=format_amount(offer["price"], money),
        discount=format_amount(offer["discount"], money) if offer["discount"] else "",
        total=format_amount(offer["total"], money),
    )


# --- checkout ----------------------------------------------------------------


def checkout_fields(product: Product) -> list:
    try:
        return list(provisioner_for(product).checkout_fields(product))
    except ProvisionError:
        return []


def read_options(product: Product, form) -> dict[str, Any]:
    """The provisioner's checkout choices from the form, typed; StoreError when one is wrong."""
    options: dict[str, Any] = {}
    for spec in checkout_fields(product):
        name = f"opt_{spec.key}"
        raw = (name in form) if spec.type == "bool" else form.get(name, spec.default)
        try:
            options[spec.key] = catalog.coerce_setting(spec, raw)
        except SettingError as exc:
            raise StoreError(str(exc)) from None
    return options


def _checkout_page(
    product: Product, token: str, form: dict, status: int = 200, repeat: Service | None = None
):
    plan = catalog.plan_of(product, form.get("plan")) or catalog.cheapest(product)
    offer = None
    try:
        offer = services.quote(current_user, product, plan, _slots(form.get("slots"), plan))
    except StoreError:
        pass
    db.session.rollback()
    return render_template(
        "store/checkout.html",
        product=product,
        plan=plan,
        token=token,
        form=form,
        fields=checkout_fields(product),
        offer=offer,
        slots=_slots(form.get("slots"), plan),
        currency=currency(),
        balance=wallet_balance(current_user.id),
        repeat=repeat,
    ), status


@bp.route("/store/product/<slug>/checkout", methods=["GET", "POST"])
@login_required
@verified_required("checkout")
def checkout(slug: str):
    found = catalog.product_by_slug(slug) or abort(404)
    if request.method == "GET":
        form = {
            "plan": request.args.get("plan", ""),
            "slots": request.args.get("slots", ""),
            "name": "",
            "auto_renew": found.allow_auto_renew,
            "voucher": request.args.get("voucher", ""),
        }
        return _checkout_page(found, services.new_purchase_token(current_user), form)
    form = request.form
    token = form.get("token", "")
    try:
        plan = catalog.plan_of(found, form.get("plan"))
        if plan is None:
            raise StoreError(_("Choose a price plan."))
        provisioner_for(found)  # refuse before charging when the product cannot be provisioned
        service = services.purchase(
            current_user,
            token=token,
            product_id=found.id,
            plan_id=plan.id,
            name=form.get("name", ""),
            slots=_slots(form.get("slots"), plan),
            auto_renew=bool(form.get("auto_renew")),
            options=read_options(found, form),
            voucher_code=form.get("voucher", ""),
            ask_repeat=form.get("confirm_repeat") != "1",
        )
    except RepeatPurchase as exc:
        db.session.rollback()
        page = {**form.to_dict(), "auto_renew": bool(form.get("auto_renew"))}
        return _checkout_page(found, token, page, 409, repeat=exc.earlier)
    except (StoreError, VoucherError, ProvisionError) as exc:
        db.session.rollback()
        flash(str(exc), "error")
        page = {**form.to_dict(), "auto_renew": bool(form.get("auto_renew"))}
        return _checkout_page(found, token, page, 400)
    if service.state == "provisioning_failed":
        flash(
            _(
                "Your order was taken but the server could not be created yet; the payment was "
                "refunded and our staff were told."
            ),
            "warning",
        )
    else:
        flash(_("Thank you! Your server %(name)s is on its way.", name=service.name), "success")
    return redirect(url_for("servers.show", service_id=service.id), 303)


# --- balance vouchers --------------------------------------------------------


@bp.route("/store/redeem", methods=["GET", "POST"])
@login_required
@verified_required("voucher_redeem")
def redeem():
    if request.method == "GET":
        return render_template("store/redeem.html", code="")
    code = request.form.get("code", "")
    try:
        credited = redeem_balance(code, current_user)
    except VoucherError as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return render_template("store/redeem.html", code=code), 400
    flash(
        _("%(amount)s was added to your balance.", amount=format_amount(credited, currency())),
        "success",
    )
    return redirect(url_for("wallet.index"), 303)


# --- pieces other pages show (template slots) --------------------------------


def topup_voucher_field(user) -> str:
    return render_template("store/topup_voucher.html", code=request.form.get("voucher", ""))


def redeem_box(user) -> str:
    return render_template("store/redeem_form.html", code="")


def admin_overview_cards(user) -> Any:
    """The admin overview's store figures (template slot ``admin_overview``), for store staff."""
    from builtin_plugins.store import staff

    if user is None or not user.has_permission("store.manage"):
        return None
    return render_fragment("admin/store/overview_cards.html", counts=staff.overview_counts())


def landing_products() -> str:
    return render_template(
        "store/landing.html", products=catalog.featured_products(3), currency=currency()
    )
