"""Numbers: formats, series, gapless under failure and concurrency; issued documents immutable."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

import pytest
from sqlalchemy.exc import DBAPIError

from builtin_plugins.invoices import issuing, numbering, pending
from builtin_plugins.invoices.models import Counter, Document, ImmutableDocument, Line, Pdf
from kernel import clock
from kernel.extensions import db
from kernel.payments.models import Payment
from kernel.payments.providers import PAID, SessionStatus
from kernel.payments.settlement import settle, start_topup
from tests.invoices.conftest import configure, customer, documents, topup

WHEN = datetime(2026, 3, 14, 9, 30)


@pytest.mark.parametrize(
    ("fmt", "number", "series"),
    [
        ("INV-{year}-{number:06}", "INV-2026-000042", "INV-2026-#"),
        ("{year}/{month}/{number:4}", "2026/03/0042", "2026/03/#"),
        ("R{number}", "R42", "R#"),
        ("INV {year}.{number:01}", "INV 2026.42", "INV 2026.#"),
    ],
)
def test_formats_render_numbers_and_series(fmt, number, series):
    assert numbering.check_format(fmt) == fmt
    assert numbering.render(fmt, WHEN, 42) == number
    assert numbering.series(fmt, WHEN) == series


@pytest.mark.parametrize(
    ("fmt", "message"),
    [
        ("", "a number format is needed"),
        ("INV-{year}", "exactly once"),
        ("{number}-{number}", "exactly once"),
        ("INV-{day}-{number}", "placeholders are"),
        ("INV-{number:13}", "placeholders are"),
        ("{number}{__class__}", "placeholders are"),
        ("=HYPERLINK({number})", "outside placeholders"),
        ("-{number}", "starts with"),
        ("INV\x00{number}", "outside placeholders"),
        ("INV–{number}", "outside placeholders"),  # an en dash
        ("X" * 40 + "{number}", "longer than 40"),
    ],
)
def test_bad_formats_are_refused_with_the_reason(fmt, message):
    with pytest.raises(numbering.FormatError, match=message):
        numbering.check_format(fmt)


def test_numbers_count_per_series_and_restart_with_the_year(shop, ctx):
    user = customer("camille@example.fr", country="FR")
    topup(user, 1000)
    topup(user, 1000)
    clock.advance(timedelta(days=300))  # 2027
    topup(user, 1000)
    configure(invoice_format="B-{number:03}")
    topup(user, 1000)
    assert [d.number for d in documents()] == [
        "INV-2026-000001",
        "INV-2026-000002",
        "INV-2027-000001",
        "B-001",
    ]
    assert dict(db.session.execute(db.select(Counter.series, Counter.last)).all()) == {
        "INV-2026-#": 2,
        "INV-2027-#": 1,
        "B-#": 1,
    }


def test_a_failure_inside_the_issuing_transaction_gives_its_number_back(shop, ctx, monkeypatch):
    user = customer("camille@example.fr", country="FR")
    real = issuing._drop_pending
    calls = []

    def failing_once(source):
        calls.append(source)
        if len(calls) == 1:
            raise RuntimeError("the database went away mid-transaction")
        return real(source)

    monkeypatch.setattr(issuing, "_drop_pending", failing_once)
    first = topup(user, 1000)
    assert documents() == []  # the number taken was rolled back with the document
    second = topup(user, 1000)
    assert [(d.number, d.subject) for d in documents()] == [
        ("INV-2026-000001", f"payment:{second.id}")
    ]
    pending.retry()
    assert [(d.number, d.subject) for d in documents()] == [
        ("INV-2026-000001", f"payment:{second.id}"),
        ("INV-2026-000002", f"payment:{first.id}"),
    ]


def test_issuing_the_same_event_twice_issues_one_document(shop, ctx):
    user = customer("camille@example.fr", country="FR")
    payment = topup(user, 1000)
    for _ in range(3):
        pending.submit(f"payment:{payment.id}", pending.TOPUP, {"payment_id": payment.id})
    assert [d.number for d in documents()] == ["INV-2026-000001"]
    assert db.session.get(Counter, "INV-2026-#").last == 1


def test_two_formats_that_make_the_same_number_never_reuse_it(shop, ctx):
    from builtin_plugins.invoices.models import Pending

    configure(invoice_format="INV{number}")
    user = customer("camille@example.fr", country="FR")
    for _ in range(12):
        topup(user, 100)
    configure(invoice_format="INV1{number}")  # its first number would be INV11 again
    blocked = topup(user, 100)
    assert len(documents()) == 12
    row = db.session.get(Pending, f"payment:{blocked.id}")
    assert "already used by another document" in row.last_error
    counter = db.session.get(Counter, "INV1#")
    assert counter is None or counter.last == 0  # the refused number was given back
    configure(invoice_format="INV-B-{number}")
    pending.retry()
    assert documents()[-1].number == "INV-B-1"


# --- concurrency ----------------------------------------------------------------------------


def _settle_in_parallel(app, payments: list[tuple[str, int]]) -> list[str]:
    errors, lock = [], threading.Lock()
    barrier = threading.Barrier(len(payments))

    def worker(external_id: str, amount: int):
        with app.app_context():
            try:
                barrier.wait(timeout=60)
                settle("testpay", external_id, SessionStatus(PAID, amount, "EUR"), source="webhook")
            except Exception as exc:  # noqa: BLE001 - reported below
                with lock:
                    errors.append(f"{type(exc).__name__}: {exc}")
            finally:
                db.session.remove()

    threads = [threading.Thread(target=worker, args=p) for p in payments]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    return errors


@pytest.mark.parametrize("shop_database", ["postgres", "sqlite"])
def test_fifty_parallel_settlements_get_fifty_consecutive_numbers(shop, ctx, shop_database):
    configure(email_documents=False)
    users = [
        customer(f"buyer{i}@example.fr", country=("FR", "DE", "US", "AT", "")[i]) for i in range(5)
    ]
    payments = [
        start_topup(
            users[i % 5], 1000 + i, "testpay", return_urls=lambda p: ("https://r", "https://c")
        )
        for i in range(50)
    ]
    wanted = [(p.external_id, p.amount_charged) for p in payments]
    db.session.commit()
    assert _settle_in_parallel(shop, wanted) == []
    db.session.expire_all()
    assert (
        db.session.scalar(db.select(db.func.count(Payment.id)).where(Payment.status == "paid"))
        == 50
    )
    docs = documents()
    assert sorted(d.sequence for d in docs) == list(range(1, 51))
    assert sorted(d.number for d in docs) == [f"INV-2026-{n:06d}" for n in range(1, 51)]
    assert sorted(d.subject for d in docs) == sorted(f"payment:{p.id}" for p in payments)
    assert db.session.get(Counter, "INV-2026-#").last == 50
    for doc in docs:  # each invoice is for its own payment's amount
        payment = db.session.get(Payment, int(doc.subject.split(":")[1]))
        assert doc.gross == payment.amount_charged and doc.net + doc.tax == doc.gross


# --- immutability ----------------------------------------------------------------------------


@pytest.mark.parametrize("shop_database", ["sqlite", "postgres"])
def test_issued_documents_cannot_be_changed_or_deleted(shop, ctx, shop_database, tmp_path):
    from builtin_plugins.invoices import pdf

    user = customer("camille@example.fr", country="FR")
    topup(user, 1200)
    [doc] = documents()
    pdf.stored(doc)
    doc.gross = 1
    with pytest.raises(ImmutableDocument):
        db.session.commit()
    db.session.rollback()
    for model in (Document, Line, Pdf):
        with pytest.raises(ImmutableDocument):
            db.session.delete(db.session.scalars(db.select(model)).first())
            db.session.flush()
        db.session.rollback()
    # below the ORM, the database refuses too
    for statement in (
        "UPDATE invoices_document SET gross = 1",
        "UPDATE invoices_line SET tax = 0",
        "UPDATE invoices_pdf SET data = NULL",
        "DELETE FROM invoices_line",
        "DELETE FROM invoices_pdf",
        "DELETE FROM invoices_document",
    ):
        with pytest.raises(DBAPIError, match="immutable"):
            db.session.execute(db.text(statement))
        db.session.rollback()
    [doc] = documents()
    assert (doc.gross, doc.lines[0].tax) == (1200, 200)
