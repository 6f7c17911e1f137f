"""Exports for accountants: every document of a period as CSV (one row per document and tax
rate), or as a ZIP of that CSV and each stored PDF.

Spreadsheets run a cell that starts with ``=``, ``+``, ``-``, ``@`` (or a tab or carriage
return) as a formula, and customers choose their own names: every text cell that would start
so is prefixed with an apostrophe (the OWASP advice), so the customer's text is shown, never
run. Amounts are written by us as plain decimals (``-12.50`` for a credit note) and stay
numbers.
"""

from __future__ import annotations

import csv
import io
import re
import tempfile
import zipfile
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from kernel import db, to_decimal_string

from . import documents, pdf
from .models import Document

FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")
AMOUNT = re.compile(r"-?[0-9]+(\.[0-9]+)?")
MAX_DAYS = 366
COLUMNS = [
    "number",
    "kind",
    "issued_at",
    "credits",
    "customer_email",
    "buyer_name",
    "buyer_company",
    "buyer_country",
    "buyer_vat_id",
    "tax_rule",
    "tax_country",
    "rate_percent",
    "net",
    "tax",
    "gross",
    "currency",
]


class ExportError(ValueError):
    """A period that cannot be exported; the message says why."""


@dataclass(frozen=True)
class Period:
    start: datetime  # inclusive
    end: datetime  # exclusive

    @property
    def label(self) -> str:
        last = (self.end - timedelta(days=1)).date()
        return f"{self.start.date().isoformat()}_{last.isoformat()}"


def period(month: str = "", start: str = "", end: str = "") -> Period:
    """A month (``2026-01``) or dates from/to (inclusive, ``YYYY-MM-DD``), at most a year."""
    try:
        if month:
            first = datetime.strptime(month.strip(), "%Y-%m")
            after = (first.replace(day=28) + timedelta(days=4)).replace(day=1)
            return Period(first, after)
        first = datetime.combine(date.fromisoformat(start.strip()), datetime.min.time())
        last = datetime.combine(date.fromisoformat(end.strip()), datetime.min.time())
    except ValueError:
        raise ExportError("give a month as YYYY-MM, or from and to dates as YYYY-MM-DD") from None
    if last < first:
        raise ExportError("the period ends before it starts")
    if (last - first).days >= MAX_DAYS:
        raise ExportError(f"export at most {MAX_DAYS} days at a time")
    return Period(first, last + timedelta(days=1))


def safe_cell(value: object) -> str:
    """Text a spreadsheet shows as text (see the module)."""
    text = "" if value is None else str(value)
    if text.startswith(FORMULA_START) or text.lstrip().startswith(FORMULA_START[:4]):
        return "'" + text
    return text


def select(span: Period, kind: str = "", country: str = "") -> list[Document]:
    """The period's documents in issuing order (the admin's filters apply)."""
    query = documents.filtered(kind=kind, country=country).where(
        Document.issued_at >= span.start, Document.issued_at < span.end
    )
    return list(db.session.scalars(query.order_by(Document.issued_at, Document.id)))


def rows(docs: list[Document]) -> list[list[str]]:
    out = []
    for doc in docs:
        view = documents.view(doc)
        buyer = view.buyer
        groups: dict[tuple, list] = {}
        for line in view.lines:
            groups.setdefault((line.tax_rule, line.tax_country, line.rate_bp), []).append(line)
        for (rule, country, rate), lines in groups.items():
            amounts = [
                to_decimal_string(sum(getattr(x, f) for x in lines), view.currency)
                for f in ("net", "tax", "gross")
            ]
            text = [
                view.number,
                view.kind,
                view.issued_at.isoformat(sep=" ", timespec="seconds"),
                view.original_number,
                buyer.get("email", ""),
                buyer.get("legal_name", ""),
                buyer.get("company", ""),
                buyer.get("country", ""),
                buyer.get("vat_id", ""),
                rule,
                country,
                f"{rate // 100}.{rate % 100:02d}",
            ]
            out.append([safe_cell(t) for t in text] + amounts + [safe_cell(view.currency)])
    return out


def csv_bytes(docs: list[Document]) -> bytes:
    """UTF-8 with a byte order mark, so spreadsheet programs read accents right."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    writer.writerows(rows(docs))
    return buffer.getvalue().encode("utf-8-sig")


def zip_file(docs: list[Document], span: Period) -> tempfile.SpooledTemporaryFile:
    """The CSV and every document's stored PDF (rendered now if it never was), rewound."""
    spool = tempfile.SpooledTemporaryFile(max_size=32 * 1024 * 1024)
    with zipfile.ZipFile(spool, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(f"invoices_{span.label}.csv", csv_bytes(docs))
        for doc in docs:
            archive.writestr(f"pdf/{pdf.filename(doc)}", pdf.stored(doc))
    spool.seek(0)
    return spool
