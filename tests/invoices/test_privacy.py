"""The plugin's privacy hooks on their own: a customer's export holds their documents (credit
notes with the invoice they credit) and nobody else's; an erasure deletes the billing profile,
closes the deliveries and leaves every issued document as it was."""

from __future__ import annotations

from builtin_plugins.invoices import delivery, privacy
from builtin_plugins.invoices.models import BillingProfile, Delivery, Document, Line
from kernel.extensions import db
from tests.invoices.conftest import customer, documents, refund_payment, topup


def _issued() -> list[tuple]:
    rows = db.session.execute(
        db.select(Document.id, Document.number, Document.user_id, Document.buyer, Document.gross)
    ).all()
    lines = db.session.execute(db.select(Line.id, Line.description, Line.gross)).all()
    return sorted(tuple(r) for r in rows) + sorted(tuple(r) for r in lines)


def test_the_export_has_my_documents_and_profile_and_nobody_elses(shop, ctx):
    alice = customer("alice@example.fr", country="FR", name="Alice Durand")
    bob = customer("bob@example.de", country="DE", name="Bob Braun", city="Köln")
    paid = topup(alice, 1200)
    refund_payment(paid, 200)
    topup(bob, 1190)

    data = privacy.export(alice)
    assert data["billing_profile"]["legal_name"] == "Alice Durand"
    assert data["billing_profile"]["country"] == "FR"
    invoice, note = data["documents"]
    assert (invoice["kind"], invoice["total"], invoice["credits"]) == ("invoice", 1200, None)
    assert (note["kind"], note["total"], note["credits"]) == (
        "credit_note",
        -200,
        invoice["number"],
    )
    assert note["net"] + note["tax"] == note["total"]
    assert invoice["billed_to"]["email"] == "alice@example.fr"
    assert "Bob" not in repr(data) and "bob@example.de" not in repr(data)
    nobody = customer("carol@example.com")
    assert privacy.export(nobody) == {"billing_profile": None, "documents": []}


def test_the_erasure_deletes_the_profile_and_keeps_the_documents_as_issued(shop, ctx):
    alice = customer("alice@example.fr", country="FR", name="Alice Durand")
    bob = customer("bob@example.de", country="DE", name="Bob Braun", city="Köln")
    topup(alice, 1200)
    topup(bob, 1190)
    mine, theirs = documents(alice.id)[0], documents(bob.id)[0]
    for document in (mine, theirs):  # their emails failed, quoting the address
        db.session.merge(
            Delivery(
                document_id=document.id,
                status=delivery.FAILED,
                attempts=1,
                error="550 no such mailbox",
                updated_at=document.issued_at,
            )
        )
    db.session.commit()
    before = _issued()

    privacy.erase(alice)
    privacy.erase(alice)  # a retry, or the catch-up: nothing more to do, no error

    assert db.session.get(BillingProfile, alice.id) is None
    assert db.session.get(BillingProfile, bob.id) is not None
    assert _issued() == before  # every document and line, unchanged
    assert documents(alice.id)[0].buyer["legal_name"] == "Alice Durand"  # as issued
    closed = db.session.get(Delivery, mine.id)
    assert (closed.status, closed.error) == (delivery.SKIPPED, "")  # never mailed again
    kept = db.session.get(Delivery, theirs.id)
    assert (kept.status, kept.error) == (delivery.FAILED, "550 no such mailbox")
