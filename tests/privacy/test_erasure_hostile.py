"""Erasures that meet trouble: storage that is not there, an invoice that cannot be issued yet,
and a staff member whose answers live in other customers' tickets."""

from __future__ import annotations

import shutil
from datetime import timedelta

from kernel.accounts.models import User
from kernel.clock import now as utcnow
from kernel.extensions import db
from tests.helpers import PASSWORD
from tests.privacy.conftest import AGENT, ALICE, BOB, person_client
from tests.privacy.database import personal, rows_of, search_database
from tests.privacy.test_erasure import attachment_files, request_deletion, run_privacy_task


def the_request(app):
    from kernel.privacy.models import ErasureRequest

    with app.app_context():
        request = db.session.scalars(db.select(ErasureRequest)).one()
        db.session.expunge(request)
        return request


def is_erased(app, user_id: int) -> bool:
    with app.app_context():
        return db.session.get(User, user_id).is_erased


def test_attachment_storage_that_is_not_there_postpones_the_erasure_and_keeps_the_account(world):
    app, alice = world.app, world.ids["alice"]
    [her_file] = attachment_files(app)[alice]
    folder = her_file.parent.parent  # <instance>/support/attachments
    away = folder.with_name("attachments-unmounted")
    folder.rename(away)  # the share is not mounted: its files still exist, elsewhere
    request_deletion(person_client(app, ALICE))
    for day, broken, reason in (
        (15, None, "is missing or not a folder"),
        (16, "empty", "is empty although tickets refer to files"),
        (17, "file", "is missing or not a folder"),
    ):
        if broken == "empty":
            folder.mkdir()  # the bare mount point
        elif broken == "file":
            folder.rmdir()
            folder.write_text("not a folder")
        run_privacy_task(app, utcnow() + timedelta(days=day))
        request = the_request(app)
        assert request.status == "scheduled" and request.attempts == day - 14
        assert "support: StorageUnavailable" in request.last_error and reason in request.last_error
        assert not is_erased(app, alice)  # nothing anonymised while her files may remain
        assert {"support_ticket", "support_read"} <= rows_of(app, alice)  # nor half-deleted
        assert (away / her_file.parent.name / her_file.name).is_file()

    folder.unlink()
    away.rename(folder)  # mounted again: the next attempt finishes the job
    assert run_privacy_task(app, utcnow() + timedelta(days=18))["erased"] == 1
    assert not her_file.exists()
    assert search_database(app, personal(ALICE)) == []
    assert all(path.is_file() for path in attachment_files(app)[world.ids["bob"]])


def test_an_attachment_that_cannot_be_deleted_postpones_the_erasure(world):
    app, alice = world.app, world.ids["alice"]
    [her_file] = attachment_files(app)[alice]
    saved = her_file.read_bytes()
    her_file.unlink()
    her_file.mkdir()  # unlink() fails on it, whoever runs the test (root included)
    request_deletion(person_client(app, ALICE))
    run_privacy_task(app, utcnow() + timedelta(days=15))
    assert "cannot delete" in the_request(app).last_error
    assert not is_erased(app, alice)
    shutil.rmtree(her_file)
    her_file.write_bytes(saved)
    assert run_privacy_task(app, utcnow() + timedelta(days=16))["erased"] == 1
    assert not her_file.exists()


def _waiting_topup(app, user_id: int) -> None:
    """A top-up of the user settled while France has no VAT rate: its invoice waits."""
    from builtin_plugins.invoices import taxes
    from builtin_plugins.invoices.models import Pending, TaxRate
    from kernel import PAID, SessionStatus
    from kernel.payments.models import Payment
    from kernel.payments.settlement import settle

    with app.test_request_context():
        french = db.session.scalar(db.select(TaxRate).where(TaxRate.country == "FR"))
        assert taxes.delete_rate(french.id)
        db.session.add(
            Payment(
                user_id=user_id,
                provider="stripe",
                external_id="cs_waiting",
                status="open",
                currency="USD",
                amount_charged=1500,
                amount_credited=1500,
                amount_refunded=0,
                checkout_url="",
                meta={},
            )
        )
        db.session.commit()
        settle("stripe", "cs_waiting", SessionStatus(PAID, 1500, "USD"), source="webhook")
        assert db.session.scalar(db.select(db.func.count()).select_from(Pending)) == 1


def test_an_invoice_that_cannot_be_issued_yet_postpones_the_erasure_then_names_the_buyer(world):
    from builtin_plugins.invoices import taxes
    from builtin_plugins.invoices.models import Document, Pending

    app, alice = world.app, world.ids["alice"]
    _waiting_topup(app, alice)
    request_deletion(person_client(app, ALICE))
    run_privacy_task(app, utcnow() + timedelta(days=15))
    request = the_request(app)
    assert request.status == "scheduled"
    assert "invoices: DocumentsWaiting" in request.last_error and "FR" in request.last_error
    assert not is_erased(app, alice)
    assert "invoices_profile" in rows_of(app, alice)  # her billing details wait with it

    with app.app_context():
        taxes.set_rate("FR", "standard", "20", "VAT")  # the admin adds the missing rate
    assert run_privacy_task(app, utcnow() + timedelta(days=16))["erased"] == 1
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(Pending)) == 0
        latest = db.session.scalars(
            db.select(Document).where(Document.user_id == alice).order_by(Document.id.desc())
        ).first()
        assert latest.gross == 1500 and latest.meta["payment"]
        assert latest.buyer["legal_name"] == ALICE.legal_name  # issued before the erasure
        assert latest.buyer["address"] == ALICE.street
    assert search_database(app, personal(ALICE)) == []
    assert "invoices_profile" not in rows_of(app, alice)


def test_erasing_a_staff_member_keeps_the_threads_they_answered_readable(world):
    from builtin_plugins.announcements.models import Announcement
    from builtin_plugins.support.models import Message, Ticket
    from kernel.mail import EmailLog
    from tests.helpers import make_user

    app = world.app
    with app.app_context():
        ticket_id = db.session.scalar(
            db.select(Ticket.id).where(Ticket.user_id == world.ids["bob"])
        )
        agent_id = db.session.scalar(db.select(User.id).where(User.email == AGENT.email))
        make_user("dpo@example.com", role="admin", name="Dana Protector")
        assert db.session.get(Ticket, ticket_id).assignee_id == agent_id
    admin = app.test_client()
    admin.post("/login", data={"email": "dpo@example.com", "password": PASSWORD})
    done = admin.post(
        "/admin/privacy/erase", data={"email": AGENT.email, "confirm": AGENT.email, "now": "1"}
    )
    assert done.status_code == 303
    assert is_erased(app, agent_id)
    assert search_database(app, [AGENT.email, AGENT.name, AGENT.ip], exempt=()) == []

    bob = person_client(app, BOB)
    thread = bob.get(f"/support/{ticket_id}")
    assert thread.status_code == 200
    assert "Looking into it." in thread.text and "Regards, Support" in thread.text
    assert "erased" not in thread.text.lower()  # a staff author reads "Support"
    staff_view = admin.get(f"/admin/support/tickets/{ticket_id}")
    assert staff_view.status_code == 200
    assert "Looking into it." in staff_view.text and "asked twice" in staff_view.text
    with app.app_context():
        kinds = db.session.scalars(
            db.select(Message.kind).where(
                Message.ticket_id == ticket_id, Message.author_id == agent_id
            )
        ).all()
        assert sorted(kinds) == ["note", "reply"]  # their answers stay, by account id
        assert db.session.get(Ticket, ticket_id).assignee_id is None  # back to the team
        assert {a.created_by for a in db.session.scalars(db.select(Announcement))} == {"(erased)"}
    assert BOB.ticket_text in search_database(app, [BOB.ticket_text])[0]  # Bob's is intact

    with app.app_context():
        last_mail = db.session.scalar(db.select(db.func.max(EmailLog.id))) or 0
    reply = bob.post(f"/support/{ticket_id}/reply", data={"body": "Still broken."})
    assert reply.status_code == 303
    with app.app_context():
        recipients = set(
            db.session.scalars(db.select(EmailLog.recipient).where(EmailLog.id > last_mail))
        )
    assert recipients == {"dpo@example.com"}  # the team, not the erased account
