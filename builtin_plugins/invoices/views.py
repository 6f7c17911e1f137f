"""The customer's pages: Wallet > Invoices, the PDFs, the billing profile. Thin: the rules live
in ``profiles``, ``documents`` and ``pdf``.

A PDF is served to its owner and to staff with ``invoices.view``; to anyone else it does not
exist (404, the same answer as for an id nobody has), so ids cannot be probed.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from kernel import PagingError, db, format_amount, keyset_page_url, read_only

from . import config, countries, documents, pdf, profiles
from .models import Document

bp = Blueprint("invoices", __name__)
VIEW_PERMISSION = "invoices.view"
PER_PAGE = 25
PDF_HEADERS = {"Cache-Control": "private, no-store", "X-Content-Type-Options": "nosniff"}


def _row(doc: Document) -> dict:
    return {
        "id": doc.id,
        "number": doc.number,
        "title": documents.TITLES.get(doc.kind, doc.kind),
        "kind": doc.kind,
        "issued_at": doc.issued_at.strftime("%Y-%m-%d"),
        "total": format_amount(doc.gross, doc.currency),
        "url": url_for("invoices.download", document_id=doc.id),
    }


def _profile_values(profile) -> dict:
    if profile is None:
        return {field: "" for field in profiles.FIELDS}
    return {field: getattr(profile, field) or "" for field in profiles.FIELDS}


def _page_links(page) -> dict:
    """The list's paging links as plain URLs (theme templates see no Python objects): the
    filters of this request kept, a link None when there is no such page."""
    return {
        "newest": None if page.first else keyset_page_url(),
        "newer": keyset_page_url(after=page.newer) if page.newer else None,
        "older": keyset_page_url(before=page.older) if page.older else None,
    }


@bp.get("/wallet/invoices")
@login_required
@read_only
def index():
    status = 200
    try:
        page = documents.for_user(current_user.id, request.args, PER_PAGE)
    except PagingError as exc:
        flash(_("That page of invoices does not exist: %(reason)s.", reason=str(exc)), "error")
        page, status = documents.for_user(current_user.id, {}, PER_PAGE), 400
    profile = profiles.get(current_user.id)
    return render_template(
        "invoices/list.html",
        rows=[_row(d) for d in page.items],
        pages=_page_links(page),
        has_profile=profile is not None,
        vat_status=profile.vat_status if profile else "",
    ), status


@bp.get("/wallet/invoices/<int:document_id>.pdf")
@login_required
def download(document_id: int):
    doc = documents.get(document_id)
    if doc is None or (
        doc.user_id != current_user.id and not current_user.has_permission(VIEW_PERMISSION)
    ):
        abort(404)
    return serve(doc)


def serve(doc: Document):
    """The stored PDF as a download (the admin's pages use it too)."""
    data = pdf.stored(doc)
    headers = {**PDF_HEADERS, "Content-Disposition": f'attachment; filename="{pdf.filename(doc)}"'}
    return data, 200, {"Content-Type": "application/pdf", **headers}


def _profile_page(values: dict, errors: dict, status: int = 200):
    profile = profiles.get(current_user.id)
    return render_template(
        "invoices/profile.html",
        values=values,
        errors=errors,
        labels=profiles.FIELDS,
        countries=countries.choices(),
        vat_status=profile.vat_status if profile else "",
        vat_checked_by=profile.vat_checked_by if profile else "",
        back=request.values.get("back") == "wallet",
    ), status


@bp.get("/wallet/billing")
@login_required
@read_only
def profile():
    return _profile_page(_profile_values(profiles.get(current_user.id)), {})


@bp.post("/wallet/billing")
@login_required
def save_profile():
    form = {field: request.form.get(field, "") for field in profiles.FIELDS}
    try:
        profiles.save(current_user.id, form, config.load())
    except profiles.ProfileError as exc:
        db.session.rollback()
        flash(_("Please correct the billing details below."), "error")
        return _profile_page(form, exc.errors, 400)
    flash(_("Your billing details were saved; new invoices use them."), "success")
    if request.form.get("back") == "wallet":
        return redirect(url_for("wallet.index"), 303)
    return redirect(url_for("invoices.profile"), 303)
