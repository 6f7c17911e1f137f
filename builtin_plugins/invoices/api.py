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
    """A customer's documents, newest first (25 a page)."""
    rows, _more = documents.for_user(user_id, page)
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
