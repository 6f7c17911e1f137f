"""The invoices plugin's public module: what a plugin that requires ``invoices`` may import.

Read-only views of issued documents (the ``invoice_issued`` hook's argument), the arithmetic
(so a plugin adding lines rounds as the invoices do), and a customer's documents. Names here
change only through a deprecation, like the kernel's.
"""

from __future__ import annotations

from . import documents
from .amounts import HUNDRED_PERCENT, Split, allocate, format_rate, split
from .documents import DocumentView, LineView, TaxRow
from .models import CREDIT_NOTE, INVOICE, RECEIPT


def documents_of(user_id: int, page: int = 1) -> list[DocumentView]:
    """A customer's documents, newest first (25 a page). The page number stays for callers of
    this public name; a customer has few documents. The pages people click through use
    ``?before=`` cursors instead (``documents.page``)."""
    from kernel import db

    page = max(1, min(page, 10_000))
    rows = db.session.scalars(
        db.select(documents.Document)
        .where(documents.Document.user_id == user_id)
        .order_by(documents.Document.issued_at.desc(), documents.Document.id.desc())
        .offset((page - 1) * 25)
        .limit(25)
    )
    return [documents.view(row) for row in rows]


__all__ = [
    "INVOICE",
    "CREDIT_NOTE",
    "RECEIPT",  # document kinds
    "DocumentView",
    "LineView",
    "TaxRow",  # what invoice_issued and documents_of give
    "documents_of",
    "HUNDRED_PERCENT",
    "Split",
    "split",
    "allocate",
    "format_rate",  # the arithmetic
]
