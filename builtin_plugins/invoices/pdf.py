"""PDFs: rendered once from the theme's template with WeasyPrint, stored, served as they were.

The HTML comes from ``invoices/document.html``, which a theme restyles with its own
``panel/invoices/document.html`` (docs/themes.md), rendered in the panel's sandboxed
environment from a :class:`~.documents.DocumentView` (plain values, no ORM row). WeasyPrint
then lays it out to PDF without network or file access: its URL fetcher accepts ``data:``
URIs only, so a template (or a customer's name in it) cannot make the server fetch a URL or
read a local file. The first rendering is stored (``invoices_pdf``, with its SHA-256) and
every later download, email and export uses those bytes: what the customer received is what
an auditor sees years later, whatever the theme looks like by then.
"""

from __future__ import annotations

import hashlib
import logging

from flask import render_template
from sqlalchemy.exc import IntegrityError
from weasyprint import HTML
from weasyprint.urls import URLFetcher

from kernel import db, now, site_setting

from . import documents
from .models import Document, Pdf

TEMPLATE = "invoices/document.html"
# WeasyPrint reports every unsupported CSS property and refused URL as a warning of its own.
logging.getLogger("weasyprint").setLevel(logging.ERROR)


def html(view: documents.DocumentView) -> str:
    """The document as HTML, from the active theme's template (else the plugin's)."""
    return render_template(TEMPLATE, doc=view, site_name=site_setting("site_name"))


def render(view: documents.DocumentView) -> bytes:
    """The document as PDF bytes (nothing stored)."""
    fetcher = URLFetcher(allowed_protocols=("data",), allow_redirects=False, timeout=2)
    return HTML(string=html(view), url_fetcher=fetcher, base_url=None).write_pdf()


def stored(document: Document) -> bytes:
    """The document's PDF: the stored bytes, or rendered and stored now (once, even when two
    processes render it at the same time: the first row wins and both return its bytes)."""
    row = db.session.get(Pdf, document.id)
    if row is not None:
        return row.data
    data = render(documents.view(document))
    db.session.commit()  # rendering read only; the write below is a transaction of its own
    try:
        with db.session.begin_nested():
            db.session.add(
                Pdf(
                    document_id=document.id,
                    data=data,
                    created_at=now(),
                    sha256=hashlib.sha256(data).hexdigest(),
                )
            )
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
    return db.session.get(Pdf, document.id).data


def filename(document: Document) -> str:
    """``INV-2026-000001.pdf``: the number, with anything but letters, digits and - _ . dropped."""
    safe = "".join(
        ch if ch.isascii() and (ch.isalnum() or ch in "-_.") else "-" for ch in document.number
    )
    return f"{safe or 'document'}.pdf"
