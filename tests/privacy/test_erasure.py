"""Erasure: the customer asks, the grace period passes, every plugin erases, the kernel
anonymises; the books stay balanced and nothing personal of the customer is left anywhere."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from kernel.accounts.models import User
from kernel.extensions import db
from kernel.models import AuditLog, utcnow
from kernel.payments.models import LedgerEntry, Payment, Wallet
from tests.helpers import PASSWORD
from tests.privacy.conftest import ALICE, BOB, person_client


def personal(person) -> list[str]:
    """What identifies the person (payment ids at providers are records the law keeps)."""
    return [person.email, person.name, person.ip, person.server, person.discord_id,
            person.discord_name, person.email.split("@")[0]]


def search_database(app, needles: list[str]) -> list[str]:
    """Every text column of every table of the database that contains one of ``needles``."""
    found = []
    with app.app_context():
        with db.engine.connect() as conn:  # one connection: SQLite has one writer
            inspector = sa.inspect(conn)
            for table in inspector.get_table_names():
                for column in inspector.get_columns(table):
                    kind = column["type"]
                    if not isinstance(kind, (sa.String, sa.Text, sa.JSON)) and \
                            "JSON" not in type(kind).__name__.upper():
                        continue
                    as_text = sa.func.lower(sa.cast(sa.column(column["name"]), sa.Text))
                    for needle in needles:
                        query = sa.select(sa.column(column["name"])).select_from(
                            sa.table(table)).where(as_text.like(f"%{needle.lower()}%"))
                        for (value,) in conn.execute(query):
                            found.append(f"{table}.{column['name']} has {needle!r}: {value!r:.120}")
    return found


def _panel(sim):
    from builtin_plugins.pterodactyl.client import PanelClient

    return PanelClient(sim.url, sim.application_key, sim.client_key)


def panel_servers(sim) -> set[str]:
    with _panel(sim) as panel:
        return {server["name"] for server in panel.app.list_servers()}


def panel_users(sim) -> set[str]:
    with _panel(sim) as panel:
        return {user["email"] for user in panel.app.list_users()}


def books(app, user_id):
    with app.app_context():
        balance = db.session.get(Wallet, user_id).balance
        entries = db.session.scalars(db.select(LedgerEntry.amount).where(
            LedgerEntry.user_id == user_id)).all()
        payments = db.session.execute(db.select(Payment.provider, Payment.external_id,
                                                Payment.amount_charged, Payment.status)
                                      .where(Payment.user_id == user_id)
                                      .order_by(Payment.id)).all()
        return balance, sorted(entries), [tuple(p) for p in payments]


def run_privacy_task(app, when):
    from kernel.accounts.privacy.erasure import run_due

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
    client = person_client(app, ALICE)
    assert "Delete my account" in client.get("/account/delete").text
    scheduled = request_deletion(client)
    assert scheduled.status_code == 302
    assert "deletion-scheduled" in client.get("/account").text
    assert run_privacy_task(app, utcnow() + timedelta(days=13))["erased"] == 0
    assert ALICE.server in panel_servers(sim) and panel_users(sim) >= {ALICE.email, BOB.email}

    done = run_privacy_task(app, utcnow() + timedelta(days=15))
    assert done["erased"] == 1

    leftovers = search_database(app, personal(ALICE))
    assert leftovers == []
    assert books(app, alice) == before  # the ledger and the payments stay, balanced
    assert search_database(app, [BOB.email, BOB.name, BOB.server, BOB.discord_id])  # Bob stays
    with app.app_context():
        from builtin_plugins.store.models import Service

        states = dict(db.session.execute(db.select(Service.user_id, Service.state)).all())
        user = db.session.get(User, alice)
        assert user.is_erased and user.is_blocked and user.email.endswith("@erased.invalid")
        erased = db.session.scalars(db.select(AuditLog).where(
            AuditLog.action == "privacy.erased")).one()
        assert erased.details["plugins"] == sorted(["hello_world", "oauth_login", "paypal_payments",
                                                    "pterodactyl", "store", "stripe_payments"])
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
    wrong = admin.post("/admin/privacy/erase", data={"email": ALICE.email,
                                                     "confirm": BOB.email, "now": "1"})
    assert wrong.status_code == 400
    done = admin.post("/admin/privacy/erase", data={"email": ALICE.email, "confirm": ALICE.email,
                                                    "now": "1"})
    assert done.status_code == 303
    assert search_database(world.app, personal(ALICE)) == []
    with world.app.app_context():
        actions = {(a.action, a.actor) for a in db.session.scalars(db.select(AuditLog))}
    assert ("privacy.erasure_requested", "dpo@example.com") in actions
    assert ("privacy.erased", "dpo@example.com") in actions
    page = admin.get("/admin/privacy/").text
    assert "done" in page and ALICE.email not in page


def test_a_plugin_that_fails_postpones_the_erasure_and_nothing_is_anonymised_yet(world,
                                                                                 monkeypatch):
    from builtin_plugins.hello_world import services
    from kernel.accounts.privacy.models import ErasureRequest

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
    from kernel.accounts.privacy.models import ErasureRequest
    from tests.pterodactyl.conftest import settle

    app, sim = world.app, world.sim
    request_deletion(person_client(app, ALICE))
    with app.app_context():
        from builtin_plugins.pterodactyl.services import server_link
        from builtin_plugins.store.models import Service

        server = server_link(db.session.scalars(db.select(Service.id).where(
            Service.user_id == world.ids["alice"])).one()).server_id
    sim.set_switches(fail_next={"count": 50, "status": 502, "method": "DELETE",
                                "path": f"/api/application/servers/{server}*"})  # refused now
    assert run_privacy_task(app, utcnow() + timedelta(days=15))["erased"] == 0
    with app.app_context():
        from builtin_plugins.store.models import Service

        request = db.session.scalars(db.select(ErasureRequest)).one()
        assert request.status == "scheduled" and "being deleted in the panel" in request.last_error
        service = db.session.scalars(db.select(Service).where(
            Service.user_id == world.ids["alice"])).one()
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
