"""Admin: every document with filters and exports (``invoices.view``), and the Invoicing page:
seller, rules, numbering, tax rates, product tax classes, events waiting
(``invoices.manage``). Thin: the rules live in ``config``, ``taxes``, ``export``, ``pending``.
"""

from __future__ import annotations

from flask import abort, flash, redirect, request, send_file, url_for
from flask_admin import expose
from flask_login import current_user

from builtin_plugins.store.api import Product
from kernel import (
    PagingError,
    ProtectedBaseView,
    SettingError,
    db,
    format_amount,
    keyset_page_url,
    record_audit,
    set_settings,
    settings_for,
)

from . import config, countries, documents, export, pending, taxes, views
from .models import KINDS, Delivery, Document

PER_PAGE = 50


class DocumentsView(ProtectedBaseView):
    permission = views.VIEW_PERMISSION

    def __init__(self):
        super().__init__(
            name="Documents",
            endpoint="invoices_documents",
            url="/admin/invoices",
            category="Invoices",
        )

    def _filters(self) -> dict[str, str]:
        """The filters as typed, without control characters (PostgreSQL refuses NUL bytes in
        text, and nothing legitimate holds one), each at most 255 characters."""
        return {
            key: "".join(ch for ch in request.args.get(key, "") if ch.isprintable()).strip()[:255]
            for key in ("kind", "country", "email", "number", "month", "start", "end")
        }

    @expose("/")
    def index(self):
        filters = self._filters()
        query = documents.filtered(
            kind=filters["kind"],
            country=filters["country"],
            email=filters["email"],
            number=filters["number"],
        )
        status = 200
        if filters["month"] or filters["start"] or filters["end"]:
            try:
                span = export.period(filters["month"], filters["start"], filters["end"])
                query = query.where(Document.issued_at >= span.start, Document.issued_at < span.end)
            except export.ExportError as exc:
                flash(str(exc), "error")
                status = 400
        try:
            page = documents.page(query, request.args, PER_PAGE)
        except PagingError as exc:
            flash(f"{exc}; showing the newest documents", "error")
            page, status = documents.page(query, {}, PER_PAGE), 400
        shown = [
            {
                "id": d.id,
                "number": d.number,
                "kind": d.kind,
                "issued_at": d.issued_at.strftime("%Y-%m-%d %H:%M"),
                "buyer": d.buyer.get("company") or d.buyer.get("legal_name") or "",
                "email": d.buyer.get("email", ""),
                "country": d.buyer_country,
                "net": format_amount(d.net, d.currency),
                "tax": format_amount(d.tax, d.currency),
                "gross": format_amount(d.gross, d.currency),
            }
            for d in page.items
        ]
        return self.render(
            "admin/invoices/documents.html",
            rows=shown,
            keyset=page,
            keyset_url=keyset_page_url,
            filters=filters,
            kinds=KINDS,
            countries=countries.choices(),
        ), status

    @expose("/<int:document_id>")
    def detail(self, document_id: int):
        doc = documents.get(document_id) or abort(404)
        delivery = db.session.get(Delivery, doc.id)
        credits = [
            {"id": n.id, "number": n.number, "gross": format_amount(n.gross, n.currency)}
            for n in db.session.scalars(db.select(Document).where(Document.original_id == doc.id))
        ]
        return self.render(
            "admin/invoices/document.html",
            doc=documents.view(doc),
            delivery={"status": delivery.status, "error": delivery.error} if delivery else None,
            credits=credits,
        )

    @expose("/<int:document_id>/pdf")
    def pdf(self, document_id: int):
        return views.serve(documents.get(document_id) or abort(404))

    @expose("/export")
    def export(self):
        filters = self._filters()
        try:
            span = export.period(filters["month"], filters["start"], filters["end"])
        except export.ExportError as exc:
            flash(str(exc), "error")
            return redirect(url_for(".index"), 303)
        docs = export.select(span, filters["kind"], filters["country"])
        fmt = "zip" if request.args.get("format") == "zip" else "csv"
        record_audit(
            "invoices.exported",
            span.label,
            {"format": fmt, "documents": len(docs)},
            actor=current_user.email,
        )
        name = f"invoices_{span.label}.{fmt}"
        if fmt == "zip":
            return send_file(
                export.zip_file(docs, span),
                mimetype="application/zip",
                as_attachment=True,
                download_name=name,
            )
        return (
            export.csv_bytes(docs),
            200,
            {
                "Content-Type": "text/csv; charset=utf-8",
                "Content-Disposition": f'attachment; filename="{name}"',
                "Cache-Control": "private, no-store",
            },
        )


class InvoicingView(ProtectedBaseView):
    permission = "invoices.manage"

    def __init__(self):
        super().__init__(
            name="Invoicing settings",
            endpoint="invoices_settings",
            url="/admin/invoices/settings",
            category="Invoices",
        )

    def _page(self, values: dict, errors: list[str], status: int = 200):
        setup = config.from_values(values)
        products = db.session.scalars(db.select(Product).order_by(Product.name)).all()
        return self.render(
            "admin/invoices/settings.html",
            values=values,
            errors=errors,
            problems=config.problems(setup) + taxes.missing_rates(setup),
            warnings=config.warnings(setup),
            rates=[
                {
                    "id": r.id,
                    "country": r.country,
                    "tax_class": r.tax_class,
                    "rate": f"{r.rate_bp / 100:g} %",
                    "label": r.label,
                }
                for r in taxes.rates()
            ],
            products=[
                {"id": p.id, "name": p.name, "tax_class": taxes.product_class(p.id)}
                for p in products
            ],
            waiting=[
                {
                    "source": p.source,
                    "attempts": p.attempts,
                    "error": p.last_error,
                    "since": p.created_at.strftime("%Y-%m-%d %H:%M"),
                }
                for p in pending.waiting()
            ],
            countries=countries.choices(),
            choices=config.CHOICES,
        ), status

    @expose("/")
    def index(self):
        return self._page(settings_for(config.PLUGIN), [])

    @expose("/", methods=("POST",))
    def save(self):
        values, errors = config.check_form(request.form, settings_for(config.PLUGIN))
        if not errors:
            try:
                set_settings(config.PLUGIN, {k: values[k] for k in config.EDITABLE})
            except SettingError as exc:
                errors = [str(exc)]
        if errors:
            db.session.rollback()
            flash("The settings were not saved: fix the problems listed.", "error")
            return self._page(values, errors, 400)
        record_audit("invoices.settings_changed", "invoices", actor=current_user.email)
        flash("Invoicing settings saved.", "success")
        return redirect(url_for(".index"), 303)

    def _act(self, action, done: str):
        try:
            result = action()
        except taxes.TaxError as exc:
            db.session.rollback()
            flash(str(exc), "error")
            return self._page(settings_for(config.PLUGIN), [str(exc)], 400)
        flash(done.format(result=result), "success")
        return redirect(url_for(".index"), 303)

    @expose("/rates", methods=("POST",))
    def add_rate(self):
        form = request.form
        return self._act(
            lambda: taxes.set_rate(
                form.get("country", ""),
                form.get("tax_class", "standard"),
                form.get("rate", ""),
                form.get("label", ""),
            ),
            "Tax rate saved.",
        )

    @expose("/rates/<int:rate_id>/delete", methods=("POST",))
    def delete_rate(self, rate_id: int):
        if not taxes.delete_rate(rate_id):
            abort(404)
        flash("Tax rate deleted.", "success")
        return redirect(url_for(".index"), 303)

    @expose("/rates/eu", methods=("POST",))
    def load_eu(self):
        return self._act(
            taxes.load_eu_standard_rates,
            "{result} standard EU rates added: check them against the current law.",
        )

    @expose("/products/<int:product_id>", methods=("POST",))
    def product_class(self, product_id: int):
        if db.session.get(Product, product_id) is None:
            abort(404)
        return self._act(
            lambda: taxes.set_product_class(product_id, request.form.get("tax_class", "")),
            "Product tax class saved.",
        )

    @expose("/retry", methods=("POST",))
    def retry(self):
        result = pending.retry()
        flash(f"{result['issued']} of {result['waiting']} waiting documents issued.", "success")
        return redirect(url_for(".index"), 303)
