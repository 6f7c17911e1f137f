"""Admin: categories (Flask-Admin CRUD) and products with their provisioner settings and plans."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from flask import abort, flash, redirect, request, url_for
from flask_admin import expose
from flask_admin.contrib.sqla import ModelView
from flask_login import current_user
from wtforms.validators import ValidationError

from builtin_plugins.store import catalog
from builtin_plugins.store.catalog import CatalogError, ProductInput
from builtin_plugins.store.models import Category, PricePlan, Product
from builtin_plugins.store.provisioning import provisioners
from kernel import (
    FormField as Field,
)
from kernel import (
    PermissionMixin,
    ProtectedBaseView,
    db,
    read_form,
    site_setting,
    with_submitted,
)
from kernel import (
    is_secret_setting as is_secret,
)

PERMISSION = "store.manage"
PREFIX = "ps_"  # provisioner settings share the form with the product's own fields
PRODUCT_FIELDS = (
    "name",
    "slug",
    "category_id",
    "description",
    "images",
    "stock",
    "per_customer_limit",
    "priority",
    "allow_auto_renew",
    "active",
    "featured",
    "provisioner",
) + tuple(f"resource_{k}" for k in catalog.RESOURCE_KEYS)


class CategoryAdmin(PermissionMixin, ModelView):
    permission = PERMISSION
    can_view_details = False
    can_export = False
    column_list = ("name", "slug", "priority", "featured")
    column_default_sort = ("priority", False)
    column_searchable_list = ("name", "slug")
    form_columns = ("name", "slug", "description", "image_url", "priority", "featured")
    form_args = {"slug": {"description": "Lowercase letters, digits and dashes: /store/<slug>"}}

    def __init__(self):
        super().__init__(
            Category,
            db,
            name="Categories",
            endpoint="store_categories",
            url="/admin/store/categories",
            category="Store",
        )

    def on_model_change(self, form, model, is_created):
        try:
            with db.session.no_autoflush:  # the new row is in the session already
                model.slug = catalog.check_slug(model.slug, Category, model.id)
        except CatalogError as exc:
            raise ValidationError(str(exc)) from None
        if not (model.name or "").strip():
            raise ValidationError("give the category a name")

    def on_model_delete(self, model):
        if db.session.scalar(db.select(Product.id).where(Product.category_id == model.id).limit(1)):
            raise ValidationError(f"move the products of {model.name!r} to another category first")


def settings_fields(provisioner, stored: dict[str, Any]) -> list[Field]:
    """The provisioner's settings as form fields named ``ps_<key>``."""
    fields = []
    for spec in provisioner.settings_schema():
        value = None if is_secret(spec) else stored.get(spec.key, spec.default)
        fields.append(
            Field(
                spec=replace(spec, key=PREFIX + spec.key),
                value=value,
                stored=bool(stored.get(spec.key)),
            )
        )
    return fields


def product_values(product: Product | None) -> dict[str, Any]:
    if product is None:
        return {"active": True, "allow_auto_renew": True, "priority": "0"}
    values = {
        k: getattr(product, k)
        for k in (
            "name",
            "slug",
            "category_id",
            "description",
            "stock",
            "per_customer_limit",
            "priority",
            "allow_auto_renew",
            "active",
            "featured",
            "provisioner",
        )
    }
    values["images"] = "\n".join(product.images or [])
    for key in catalog.RESOURCE_KEYS:
        values[f"resource_{key}"] = (product.resources or {}).get(key, "")
    return {k: "" if v is None else v for k, v in values.items()}


class ProductsView(ProtectedBaseView):
    permission = PERMISSION

    def __init__(self):
        super().__init__(
            name="Products",
            endpoint="store_products",
            url="/admin/store/products",
            category="Store",
        )

    def _product(self, product_id: int) -> Product:
        return db.session.get(Product, product_id) or abort(404)

    def _form(
        self,
        product: Product | None,
        provisioner_id: str,
        values: dict,
        fields=None,
        status: int = 200,
        error: str = "",
    ):
        known = provisioners()
        provisioner = known.get(provisioner_id)
        if fields is None and provisioner is not None:
            fields = settings_fields(
                provisioner,
                product.provisioner_settings
                if product and product.provisioner == provisioner_id
                else {},
            )
        return self.render(
            "admin/store/product_form.html",
            product=product,
            values=values,
            provisioners=known,
            provisioner=provisioner,
            helper=catalog.settings_helper(provisioner, product),
            provisioner_id=provisioner_id,
            fields=fields or [],
            categories=catalog.categories(),
            error=error,
            resource_keys=[
                k for k in catalog.RESOURCE_KEYS if k not in catalog.resource_sources(provisioner)
            ]
            if provisioner
            else catalog.RESOURCE_KEYS,
            resource_labels=catalog.RESOURCE_LABELS,
            plan_kinds=catalog.PLAN_KINDS,
            currency=site_setting("currency"),
            live=catalog.live_services(product.id) if product else 0,
        ), status

    def _save(self, product: Product | None, provisioner_id: str):
        provisioner = provisioners().get(provisioner_id)
        values = {k: request.form.get(k, "") for k in PRODUCT_FIELDS}
        for flag in ("allow_auto_renew", "active", "featured"):
            values[flag] = flag in request.form
        fields = (
            settings_fields(
                provisioner,
                product.provisioner_settings
                if product and product.provisioner == provisioner_id
                else {},
            )
            if provisioner
            else []
        )
        submitted = {k[len(PREFIX) :]: v for k, v in read_form(fields, request.form).items()}
        if product is not None and product.provisioner == provisioner_id:
            # write-only secrets left empty keep their stored value
            submitted = {
                **{
                    k: v
                    for k, v in (product.provisioner_settings or {}).items()
                    if k not in submitted
                },
                **submitted,
            }
        try:
            data = ProductInput({**values, "provisioner": provisioner_id}, submitted)
            saved = catalog.save_product(product, data, actor=current_user.email)
        except CatalogError as exc:
            db.session.rollback()
            return self._form(
                product, provisioner_id, values, with_submitted(fields, request.form), 400, str(exc)
            )
        flash(
            f"Product {saved.name!r} saved" + ("" if saved.plans else ": now add a price plan"),
            "success",
        )
        return redirect(url_for(".edit", product_id=saved.id), 303)

    @expose("/")
    def index(self):
        known, reach = provisioners(), {}
        query = db.select(Product).order_by(Product.priority, Product.name)
        products = list(db.session.scalars(query))
        rows = [
            (p, catalog.product_health(p, known, reach), catalog.live_services(p.id))
            for p in products
        ]
        return self.render(
            "admin/store/products.html", rows=rows, currency=site_setting("currency")
        )

    @expose("/new", methods=("GET", "POST"))
    def new(self):
        provisioner_id = request.values.get("provisioner", "")
        if request.method == "POST":
            return self._save(None, provisioner_id)
        if provisioner_id not in provisioners():
            return self.render(
                "admin/store/choose_provisioner.html",
                provisioners=provisioners(),
                chosen=provisioner_id,
            )
        return self._form(None, provisioner_id, product_values(None))

    @expose("/<int:product_id>", methods=("GET", "POST"))
    def edit(self, product_id: int):
        product = self._product(product_id)
        provisioner_id = request.values.get("provisioner", product.provisioner)
        if request.method == "POST":
            return self._save(product, provisioner_id)
        return self._form(
            product, provisioner_id, {**product_values(product), "provisioner": provisioner_id}
        )

    @expose("/<int:product_id>/copy", methods=("POST",))
    def copy(self, product_id: int):
        copy = catalog.copy_product(self._product(product_id), actor=current_user.email)
        flash(f"Copied to {copy.slug!r} (not active until you switch it on)", "success")
        return redirect(url_for(".edit", product_id=copy.id), 303)

    @expose("/<int:product_id>/delete", methods=("POST",))
    def delete(self, product_id: int):
        product = self._product(product_id)
        try:
            catalog.delete_product(product, actor=current_user.email)
        except CatalogError as exc:
            flash(str(exc), "error")
            return self._form(product, product.provisioner, product_values(product), status=400)
        flash(f"Product {product.name!r} deleted", "success")
        return redirect(url_for(".index"), 303)

    @expose("/<int:product_id>/plans", methods=("POST",))
    def add_plan(self, product_id: int):
        product = self._product(product_id)
        try:
            catalog.add_plan(product, request.form.to_dict(), actor=current_user.email)
        except CatalogError as exc:
            db.session.rollback()
            flash(str(exc), "error")
            return self._form(product, product.provisioner, product_values(product), status=400)
        flash("Price plan added", "success")
        return redirect(url_for(".edit", product_id=product.id), 303)

    @expose("/<int:product_id>/plans/<int:plan_id>/delete", methods=("POST",))
    def delete_plan(self, product_id: int, plan_id: int):
        product = self._product(product_id)
        plan = db.session.get(PricePlan, plan_id)
        if plan is None or plan.product_id != product.id:
            abort(404)
        try:
            catalog.delete_plan(plan, actor=current_user.email)
        except CatalogError as exc:
            flash(str(exc), "error")
            return self._form(product, product.provisioner, product_values(product), status=400)
        flash("Price plan deleted", "success")
        return redirect(url_for(".edit", product_id=product.id), 303)
