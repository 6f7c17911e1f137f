"""The invoices plugin's own hooks (docs/invoices.md, "Hooks for other plugins").

A plugin implementing one declares its name as a capability and requires ``invoices``.
"""

from kernel import hookspec


@hookspec
def invoice_issued(document):
    """Event: a document was issued and committed; ``document`` is a read-only ``invoices.api.DocumentView``."""


@hookspec
def invoice_lines(kind, subject, buyer, lines):
    """Return extra lines ``{"description", "amount", "quantity"?, "tax_class"?}`` (minor units, priced like the shop) for an invoice being built."""


@hookspec(firstresult=True)
def tax_rate(seller_country, buyer, tax_class):
    """Return ``{"rate_bp", "rule"?, "country"?, "note"?}`` to decide a line's tax instead of the built-in rules, or None."""


@hookspec(firstresult=True)
def vat_id_check(country, number):
    """Return ``{"valid": bool, "name"?}`` for a VAT ``number`` of an EU ``country`` checked online, or None when you cannot answer."""
