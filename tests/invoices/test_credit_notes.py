"""Refunds and chargebacks become credit notes that reference the invoice, never beyond it."""

from __future__ import annotations

import json
from types import SimpleNamespace

from hypothesis import given, settings
from hypothesis import strategies as st

from builtin_plugins.invoices import issuing, pending
from builtin_plugins.invoices.amounts import GROSS, NET, split
from builtin_plugins.invoices.models import Pending
from kernel.extensions import db
from kernel.hooks import call_hook
from kernel.payments.inbox import receive
from tests.invoices.conftest import customer, documents, refund_payment, topup


def test_a_refund_issues_a_credit_note_referencing_the_invoice(shop, ctx):
    user = customer("camille@example.fr", country="FR")
    payment = topup(user, 1200)
    refund_payment(payment, 1200)
    invoice, credit = documents(user.id)
    assert (credit.kind, credit.number, credit.original_id) == (
        "credit_note",
        "CN-2026-000001",
        invoice.id,
    )
    assert (credit.net, credit.tax, credit.gross) == (-1000, -200, -1200)
    assert [(x.position, x.net, x.tax, x.gross, x.rate_bp, x.tax_rule) for x in credit.lines] == [
        (1, -1000, -200, -1200, 2000, "eu-destination")
    ]
    assert credit.notes == ["Credit note for INV-2026-000001 of 2026-03-14."]
    assert credit.buyer == invoice.buyer and credit.seller == invoice.seller
    assert credit.meta["reason"] == "refund" and credit.subject == invoice.subject


def test_a_reverse_charge_credit_note_keeps_the_legal_note(shop, ctx):
    user = customer("achats@acme.fr", country="FR", company="ACME", vat_id="FR40303265045")
    refund_payment(topup(user, 5000), 2000)
    invoice, credit = documents(user.id)
    assert credit.gross == -2000 and credit.tax == 0
    assert invoice.notes[0] in credit.notes and credit.notes[0].startswith("Credit note for")


def test_partial_refunds_add_up_to_the_invoice_and_never_beyond(shop, ctx):
    user = customer("camille@example.fr", country="FR")
    payment = topup(user, 1000)
    for amount in (333, 333, 334):
        refund_payment(payment, amount)
    invoice, *credits = documents(user.id)
    assert [c.gross for c in credits] == [-333, -333, -334]
    assert sum(c.net for c in credits) == -invoice.net
    assert sum(c.tax for c in credits) == -invoice.tax
    assert [c.number for c in credits] == ["CN-2026-000001", "CN-2026-000002", "CN-2026-000003"]
    # a provider reporting one more refund than was paid credits nothing more
    call_hook("payment_refunded", payment=payment, amount=500, refund_id="re_extra", kind="refund")
    assert len(documents(user.id)) == 4
    assert db.session.scalars(db.select(Pending)).all() == []


def test_a_replayed_refund_webhook_issues_one_credit_note(shop, ctx):
    user = customer("camille@example.fr", country="FR")
    payment = topup(user, 1200)
    body = json.dumps(
        [
            {
                "kind": "refunded",
                "external_id": payment.external_id,
                "refund_id": "re_dashboard",
                "amount": 600,
            }
        ]
    ).encode()
    for _ in range(3):
        receive("testpay", body, {"X-Sig": "trusted"})
    invoice, credit = documents(user.id)
    assert credit.gross == -600 and credit.source == f"refund:{payment.id}:re_dashboard"


def test_a_chargeback_is_credited_like_a_refund(shop, ctx):
    user = customer("camille@example.fr", country="FR")
    payment = topup(user, 1200)
    call_hook(
        "payment_refunded", payment=payment, amount=1200, refund_id="dp_123", kind="chargeback"
    )
    invoice, credit = documents(user.id)
    assert credit.gross == -1200 and credit.meta["reason"] == "chargeback"


def test_a_multi_line_invoice_is_credited_line_by_line(shop, ctx, register_lines):
    register_lines([{"description": "Setup fee", "amount": 500, "tax_class": "reduced"}])
    user = customer("camille@example.fr", country="FR")
    payment = topup(user, 1000)
    invoice = documents(user.id)[0]
    assert [(x.gross, x.rate_bp) for x in invoice.lines] == [(1000, 2000), (500, 550)]
    assert invoice.gross == 1500
    refund_payment(payment, 1000)  # what the provider paid back: credited over both lines
    credit = documents(user.id)[1]
    assert [(x.position, x.gross, x.rate_bp) for x in credit.lines] == [
        (1, -667, 2000),
        (2, -333, 550),
    ]
    assert credit.gross == -1000 and credit.net + credit.tax == credit.gross


def test_a_refund_of_a_payment_without_a_document_issues_nothing(shop, ctx):
    from tests.invoices.conftest import configure

    user = customer("camille@example.fr", country="FR")
    configure(seller_name="")
    payment = topup(user, 1200)
    db.session.execute(db.delete(Pending))  # as if the plugin had been off when it was paid
    db.session.commit()
    configure(seller_name="Blockhost GmbH")
    refund_payment(payment, 600)
    assert documents() == [] and db.session.scalars(db.select(Pending)).all() == []


def test_waiting_refunds_are_retried(shop, ctx):
    from builtin_plugins.invoices.models import Document

    user = customer("camille@example.fr", country="FR")
    payment = topup(user, 1200)
    from tests.invoices.conftest import configure

    configure(credit_note_format="bad format")
    refund_payment(payment, 1200)
    assert db.session.scalar(db.select(db.func.count(Document.id))) == 1
    assert "credit_note_format" in db.session.scalars(db.select(Pending)).one().last_error
    configure(credit_note_format="GS-{number}")
    assert pending.retry()["issued"] == 1
    assert documents()[1].number == "GS-1"


# --- the arithmetic of partial credits, over any invoice and any sequence of refunds ------------


def _invoice(lines, mode):
    out = []
    for position, (amount, rate) in enumerate(lines, start=1):
        s = split(amount, rate, mode)
        out.append(
            SimpleNamespace(
                position=position,
                net=s.net,
                tax=s.tax,
                gross=s.gross,
                rate_bp=rate,
                tax_rule="domestic",
                tax_country="DE",
                tax_class="standard",
                description=f"line {position}",
            )
        )
    return SimpleNamespace(
        id=1,
        lines=out,
        gross=sum(x.gross for x in out),
        net=sum(x.net for x in out),
        tax=sum(x.tax for x in out),
    )


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(1, 10**6), st.sampled_from([0, 550, 700, 1900, 2000, 2550])),
        min_size=1,
        max_size=5,
    ),
    st.sampled_from([GROSS, NET]),
    st.lists(st.integers(1, 10**6), min_size=1, max_size=6),
)
def test_credit_notes_cancel_the_invoice_exactly_however_it_is_refunded(lines, mode, refunds):
    invoice = _invoice(lines, mode)
    notes: list[SimpleNamespace] = []
    original = issuing.original_credit_notes
    issuing.original_credit_notes = lambda _id: notes
    try:
        left = invoice.gross
        for wanted in refunds + [invoice.gross]:  # whatever was asked, then the rest
            amount = min(wanted, left)
            if amount <= 0:
                break
            priced = issuing._credited_lines(invoice, amount)
            assert sum(p.split.gross for p in priced) == -amount
            for p in priced:
                assert p.split.net + p.split.tax == p.split.gross <= 0
            notes.append(
                SimpleNamespace(
                    lines=[
                        SimpleNamespace(
                            position=p.position,
                            net=p.split.net,
                            tax=p.split.tax,
                            gross=p.split.gross,
                        )
                        for p in priced
                    ]
                )
            )
            left -= amount
    finally:
        issuing.original_credit_notes = original
    for attr in ("net", "tax", "gross"):
        assert sum(getattr(x, attr) for n in notes for x in n.lines) == -getattr(invoice, attr)
    for line in invoice.lines:  # no line credited beyond what it invoiced
        credited = sum(x.gross for n in notes for x in n.lines if x.position == line.position)
        assert credited == -line.gross
