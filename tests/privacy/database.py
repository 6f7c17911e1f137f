"""Searching the whole database for a person, and the records an erasure must keep as they are."""

from __future__ import annotations

import sqlalchemy as sa

from kernel.extensions import db
from kernel.payments.models import LedgerEntry, Payment, Wallet

# Issued invoices and credit notes are accounting records the seller must keep unchanged for
# years (EU VAT Directive Art. 244-247; GDPR Art. 17(3)(b) exempts what a legal obligation
# requires): their buyer snapshot (name, postal address, email address as issued) and their
# lines (which name the server in ``invoice_on = purchase``) stay after an erasure, and
# database triggers refuse any change to them. The PDFs (invoices_pdf.data) are binary, not
# searched. docs/privacy.md and docs/invoices.md say so. Nothing else is exempt.
RETAINED = {("invoices_document", "buyer"), ("invoices_line", "description")}


def personal(person) -> list[str]:
    """What identifies the person (payment ids at providers are records the law keeps)."""
    return [
        person.email,
        person.name,
        person.ip,
        person.server,
        person.discord_id,
        person.discord_name,
        person.email.split("@")[0],
        person.legal_name,
        person.company,
        person.street,
        person.ticket_text,
        person.ticket_file,
    ]


def database_hits(app, needles: list[str]) -> list[tuple[str, str, str, str]]:
    """(table, column, needle, value) for every text column of every table of the database
    that contains one of ``needles``."""
    found = []
    with app.app_context():
        with db.engine.connect() as conn:  # one connection: SQLite has one writer
            inspector = sa.inspect(conn)
            for table in inspector.get_table_names():
                for column in inspector.get_columns(table):
                    kind = column["type"]
                    if (
                        not isinstance(kind, (sa.String, sa.Text, sa.JSON))
                        and "JSON" not in type(kind).__name__.upper()
                    ):
                        continue
                    as_text = sa.func.lower(sa.cast(sa.column(column["name"]), sa.Text))
                    for needle in needles:
                        query = (
                            sa.select(sa.column(column["name"]))
                            .select_from(sa.table(table))
                            .where(as_text.like(f"%{needle.lower()}%"))
                        )
                        for (value,) in conn.execute(query):
                            found.append((table, column["name"], needle, repr(value)[:120]))
    return found


def search_database(app, needles: list[str], exempt=RETAINED) -> list[str]:
    """Every place outside ``exempt`` (table, column) pairs that holds one of ``needles``."""
    return [
        f"{table}.{column} has {needle!r}: {value}"
        for table, column, needle, value in database_hits(app, needles)
        if (table, column) not in exempt
    ]


def retained(app, person) -> set[tuple[str, str]]:
    """The exempt columns that still hold the person's identifiers (the issued invoices)."""
    return {
        (table, column)
        for table, column, _n, _v in database_hits(app, personal(person))
        if (table, column) in RETAINED
    }


def invoices_as_issued(app) -> dict[str, list]:
    """Every row of the issued documents' tables, every column (PDF bytes included)."""
    with app.app_context():
        with db.engine.connect() as conn:
            return {
                table: [
                    tuple(row)
                    for row in conn.execute(
                        sa.select(
                            sa.table(
                                table,
                                *[
                                    sa.column(c["name"])
                                    for c in sa.inspect(conn).get_columns(table)
                                ],
                            )
                        ).order_by(sa.text("1"))
                    )
                ]
                for table in ("invoices_document", "invoices_line", "invoices_pdf")
            }


def books(app, user_id):
    with app.app_context():
        balance = db.session.get(Wallet, user_id).balance
        entries = db.session.scalars(
            db.select(LedgerEntry.amount).where(LedgerEntry.user_id == user_id)
        ).all()
        payments = db.session.execute(
            db.select(Payment.provider, Payment.external_id, Payment.amount_charged, Payment.status)
            .where(Payment.user_id == user_id)
            .order_by(Payment.id)
        ).all()
        return balance, sorted(entries), [tuple(p) for p in payments]


def rows_of(app, user_id: int) -> set[str]:
    """The tables with rows of ``user_id`` (in a ``user_id`` column; the account is ``user``)."""
    found = set()
    with app.app_context():
        with db.engine.connect() as conn:
            inspector = sa.inspect(conn)
            for table in inspector.get_table_names():
                if "user_id" not in {c["name"] for c in inspector.get_columns(table)}:
                    continue
                query = (
                    sa.select(sa.func.count())
                    .select_from(sa.table(table))
                    .where(sa.column("user_id") == user_id)
                )
                if conn.execute(query).scalar():
                    found.add(table)
    return found
