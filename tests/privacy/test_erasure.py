"""Erasure: the customer asks, the grace period passes, every plugin erases, the kernel
anonymises; the books stay balanced and nothing personal of the customer is left anywhere."""

from __future__ import annotations

from datetime import timedelta

from kernel.accounts.models import User
from kernel.clock import now as utcnow
from kernel.extensions import db
from kernel.models import AuditLog
from tests.helpers import PASSWORD
from tests.privacy.conftest import ALICE, BOB, person_client
from tests.privacy.database import (
    books,
    database_hits,
    invoices_as_issued,
    personal,
    retained,
    rows_of,
    search_database,
)


def _panel(sim):
    from builtin_plugins.pterodactyl.client import PanelClient

    return PanelClient(sim.url, sim.application_key, sim.client_key)


def panel_servers(sim) -> set[str]:
    with _panel(sim) as panel:
        return {server["name"] for server in panel.app.list_servers()}


def panel_users(sim) -> set[str]:
    with _panel(sim) as panel:
        return {user["email"] for user in panel.app.list_users()}


def store_a_pdf(app, user_id: int) -> None:
    """Render and store one of the customer's invoice PDFs (as its first download does)."""
    from builtin_plugins.invoices import pdf
    from builtin_plugins.invoices.models import Document

    with app.test_request_context():
        pdf.stored(
            db.session.scalars(db.select(Document).where(Document.user_id == user_id)).first()
        )


def attachment_files(app) -> dict[int, list]:
    """The support attachments on disk, by the customer whose ticket holds them."""
    from builtin_plugins.support import attachments
    from builtin_plugins.support.models import Attachment, Ticket

    with app.app_context():
        rows = db.session.execute(
            db.select(Ticket.user_id, Attachment.storage_key).join(
                Ticket, Ticket.id == Attachment.ticket_id
            )
        ).all()
        found: dict[int, list] = {}
        for user_id, key in rows:
            found.setdefault(user_id, []).append(attachments.path_of(key))
        return found


def reply_links(app) -> dict[int, str]:
    """The path of the signed reply link each customer was emailed, by customer."""
    from urllib.parse import urlsplit

    from builtin_plugins.support import links
    from tests.privacy.conftest import mail_links

    found = {}
    with app.test_request_context():
        for link in mail_links(app, "/support/reply/"):
            path = urlsplit(link).path
            _ticket, user = links.resolve(path.rsplit("/", 1)[-1])
            found[user.id] = path
    return found


def run_privacy_task(app, when):
    from kernel.privacy.erasure import run_due

    with app.test_request_context():
        return run_due(when)


def request_deletion(client, **form):
    data = {"confirm": ALICE.email, "password": PASSWORD, **form}
    return client.post("/account/delete", data=data)


def test_erasure_after_the_grace_period_leaves_nothing_personal_and_the_books_balanced(world):
    app, sim = world.app, world.sim
    alice, bob = world.ids["alice"], world.ids["bob"]
    before = books(app, alice)
    assert before[0] == sum(before[1]) and len(before[2]) == 2
    assert search_database(app, personal(ALICE))  # the search does find her, before
    store_a_pdf(app, alice)
    issued = invoices_as_issued(app)
    assert len(issued["invoices_document"]) == 4 and len(issued["invoices_pdf"]) == 1
    files = attachment_files(app)
    assert all(path.is_file() for path in files[alice] + files[bob])
    links = reply_links(app)
    client = person_client(app, ALICE)
    page = client.get("/account/delete").text
    assert "Delete my account" in page
    assert "invoices already issued as they were issued (with the name and address" in page
    scheduled = request_deletion(client)
    assert scheduled.status_code == 302
    assert "deletion-scheduled" in client.get("/account").text
    assert run_privacy_task(app, utcnow() + timedelta(days=13))["erased"] == 0
    assert ALICE.server in panel_servers(sim) and panel_users(sim) >= {ALICE.email, BOB.email}

    done = run_privacy_task(app, utcnow() + timedelta(days=15))
    assert done["erased"] == 1

    leftovers = search_database(app, personal(ALICE))
    assert leftovers == []
    # what stays: her issued invoices, exactly as issued (tax law), and nothing else of hers
    assert retained(app, ALICE) == {("invoices_document", "buyer")}
    assert invoices_as_issued(app) == issued
    # her ticket's subject was a line of the emails about it (kernel's email log, pruned by
    # the email log retention); the ticket and its texts are gone (docs/privacy.md)
    assert {(t, c) for t, c, _n, _v in database_hits(app, [ALICE.ticket_subject])} == {
        ("email_log", "subject")
    }
    assert books(app, alice) == before  # the ledger and the payments stay, balanced
    # keyed by her id, only the records the books need (and the request itself) are left
    assert rows_of(app, alice) == {
        "wallet",
        "ledger_entry",
        "payment",
        "store_service",
        "invoices_document",
        "privacy_erasure",
    }
    assert {
        "invoices_profile",
        "support_ticket",
        "support_read",
        "announcements_dismissal",
        "announcements_delivery",
        "oauth_login_identity",
    } <= rows_of(app, bob)
    bob_now = {(t, c) for t, c, _n, _v in database_hits(app, personal(BOB))}  # Bob stays
    assert {
        ("invoices_profile", "legal_name"),
        ("support_message", "body"),
        ("support_attachment", "filename"),
        ("store_service", "name"),
    } <= bob_now
    assert not any(path.exists() for path in files[alice])  # her files, off the disk
    assert all(path.is_file() for path in files[bob])
    assert app.test_client().get(links[alice]).status_code == 404  # the emailed link is dead
    assert app.test_client().get(links[bob]).status_code == 200
    with app.app_context():
        from builtin_plugins.store.models import Service

        states = dict(db.session.execute(db.select(Service.user_id, Service.state)).all())
        user = db.session.get(User, alice)
        assert user.is_erased and user.is_blocked and user.email.endswith("@erased.invalid")
        erased = db.session.scalars(
            db.select(AuditLog).where(AuditLog.action == "privacy.erased")
        ).one()
        assert erased.details["plugins"] == sorted(
            [
                "announcements",
                "hello_world",
                "invoices",
                "oauth_login",
                "paypal_payments",
                "pelican",
                "pterodactyl",
                "store",
                "stripe_payments",
                "support",
            ]
        )
    assert states == {alice: "terminated", bob: "active"}
    remaining = panel_servers(sim)  # deleted in the panel, through the store's normal path
    assert ALICE.server not in remaining and BOB.server in remaining
    users = panel_users(sim)  # and the panel account holding her address and name
    assert ALICE.email not in users and BOB.email in users
    refused = app.test_client().post("/login", data={"email": ALICE.email, "password": PASSWORD})
    assert refused.status_code == 400


def test_the_request_needs_the_password_the_address_and_the_second_factor(world):
    import pyotp

    from kernel.accounts import twofactor

    client = person_client(world.app, ALICE)
    assert request_deletion(client, confirm="someone@example.com").status_code == 400
    assert request_deletion(client, password="wrong password").status_code == 400
    with world.app.app_context():
        user = db.session.get(User, world.ids["alice"])
        secret = twofactor.begin_setup(user)
        twofactor.confirm_setup(user, pyotp.TOTP(secret).now())
    no_code = request_deletion(client)
    assert no_code.status_code == 400 and "not valid" in no_code.text
    import time

    ok = request_deletion(client, code=pyotp.TOTP(secret).at(time.time() + 30))
    assert ok.status_code == 302
    again = request_deletion(client)
    assert again.status_code == 400 and "already scheduled" in again.text


def test_the_customer_can_cancel_during_the_grace_period(world):
    client = person_client(world.app, ALICE)
    request_deletion(client)
    assert client.post("/account/delete/cancel").status_code == 302
    assert "deletion-scheduled" not in client.get("/account").text
    assert run_privacy_task(world.app, utcnow() + timedelta(days=30))["erased"] == 0
    with world.app.app_context():
        assert not db.session.get(User, world.ids["alice"]).is_erased


def test_staff_erase_an_account_now_from_the_admin_and_it_is_audited(world):
    from tests.helpers import make_user

    with world.app.app_context():
        make_user("dpo@example.com", role="admin")
    admin = world.app.test_client()
    admin.post("/login", data={"email": "dpo@example.com", "password": PASSWORD})
    assert admin.get("/admin/privacy/").status_code == 200
    wrong = admin.post(
        "/admin/privacy/erase", data={"email": ALICE.email, "confirm": BOB.email, "now": "1"}
    )
    assert wrong.status_code == 400
    done = admin.post(
        "/admin/privacy/erase", data={"email": ALICE.email, "confirm": ALICE.email, "now": "1"}
    )
    assert done.status_code == 303
    assert search_database(world.app, personal(ALICE)) == []
    with world.app.app_context():
        actions = {(a.action, a.actor) for a in db.session.scalars(db.select(AuditLog))}
    assert ("privacy.erasure_requested", "dpo@example.com") in actions
    assert ("privacy.erased", "dpo@example.com") in actions
    page = admin.get("/admin/privacy/").text
    assert "done" in page and ALICE.email not in page


def test_a_plugin_that_fails_postpones_the_erasure_and_nothing_is_anonymised_yet(
    world, monkeypatch
):
    from builtin_plugins.hello_world import services
    from kernel.privacy.models import ErasureRequest

    def broken(user):
        raise RuntimeError("greetings database away")

    monkeypatch.setattr(services, "erase_greetings_by", broken)
    client = person_client(world.app, ALICE)
    request_deletion(client)
    run_privacy_task(world.app, utcnow() + timedelta(days=15))
    with world.app.app_context():
        request = db.session.scalars(db.select(ErasureRequest)).one()
        assert request.status == "scheduled" and request.attempts == 1
        assert "hello_world: RuntimeError: greetings database away" in request.last_error
        assert not db.session.get(User, world.ids["alice"]).is_erased
    monkeypatch.undo()
    assert run_privacy_task(world.app, utcnow() + timedelta(days=16))["erased"] == 1
    assert search_database(world.app, personal(ALICE)) == []


def test_the_panel_user_waits_until_the_reconciler_deleted_the_servers(world):
    """Deleting a server is the reconciler's job (a queued job on rq, retried while the panel
    fails): the store's eraser holds the erasure back until the panel followed, so the panel
    user is never deleted before its servers and the erasure ends once they are gone."""
    from kernel.privacy.models import ErasureRequest
    from tests.pterodactyl.conftest import settle

    app, sim = world.app, world.sim
    request_deletion(person_client(app, ALICE))
    with app.app_context():
        from builtin_plugins.pterodactyl.links import server_link
        from builtin_plugins.store.models import Service

        server = server_link(
            db.session.scalars(
                db.select(Service.id).where(Service.user_id == world.ids["alice"])
            ).one()
        ).server_id
    sim.set_switches(
        fail_next={
            "count": 50,
            "status": 502,
            "method": "DELETE",
            "path": f"/api/application/servers/{server}*",
        }
    )  # refused now
    assert run_privacy_task(app, utcnow() + timedelta(days=15))["erased"] == 0
    with app.app_context():
        from builtin_plugins.store.models import Service

        request = db.session.scalars(db.select(ErasureRequest)).one()
        assert request.status == "scheduled" and "being deleted in the panel" in request.last_error
        service = db.session.scalars(
            db.select(Service).where(Service.user_id == world.ids["alice"])
        ).one()
        assert (service.state, service.sync_status) == ("terminated", "pending")
        assert not db.session.get(User, world.ids["alice"]).is_erased
    assert ALICE.server in panel_servers(sim) and ALICE.email in panel_users(sim)
    sim.set_switches(fail_next=[])
    with app.app_context():
        settle()  # the reconciler's retry (after its backoff) deletes the server
    assert ALICE.server not in panel_servers(sim)
    assert run_privacy_task(app, utcnow() + timedelta(days=16))["erased"] == 1
    assert ALICE.email not in panel_users(sim) and BOB.email in panel_users(sim)
    assert search_database(app, personal(ALICE)) == []
