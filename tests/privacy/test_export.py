"""A customer's data export: every plugin's data of that customer, and nobody else's."""

from __future__ import annotations

import io
import json
import zipfile
from urllib.parse import urlsplit

from tests.privacy.conftest import AGENT, ALICE, BOB, mail_links, person_client, staff_client

EXPECTED = {
    "README.txt",
    "account.json",
    "wallet.json",
    "payments.json",
    "audit_log.json",
    "email_log.json",
    "privacy.json",
    "plugins/store/servers.json",
    "plugins/store/vouchers.json",
    "plugins/pelican/pelican_account.json",
    "plugins/pelican/pelican_shared_servers.json",
    "plugins/pterodactyl/panel_account.json",
    "plugins/pterodactyl/shared_servers.json",
    "plugins/hello_world/greetings.json",
    "plugins/oauth_login/identities.json",
    "plugins/stripe_payments/payments.json",
    "plugins/paypal_payments/payments.json",
    "plugins/invoices/billing_profile.json",
    "plugins/invoices/documents.json",
    "plugins/support/tickets.json",
    "plugins/support/blocked.json",
    "plugins/announcements/dismissed.json",
    "plugins/announcements/emailed.json",
}


def identifiers(person) -> list[str]:
    return [
        person.email,
        person.name,
        person.ip,
        person.server,
        person.discord_id,
        person.discord_name,
        person.stripe_id,
        person.paypal_id,
        person.legal_name,
        person.company,
        person.street,
        person.ticket_subject,
        person.ticket_text,
        person.ticket_file,
    ]


def export_of(world, person):
    client = person_client(world.app, person)
    requested = client.post("/account/privacy/export")
    assert requested.status_code == 302
    [link] = mail_links(world.app, "/account/privacy/export/")
    answer = client.get(urlsplit(link).path)
    assert answer.status_code == 200, answer.text
    assert answer.headers["Content-Type"] == "application/zip"
    assert answer.headers["Cache-Control"] == "no-store"
    return client, link, zipfile.ZipFile(io.BytesIO(answer.data))


def test_the_world_has_every_builtin_plugin_enabled(world):
    from pathlib import Path

    import builtin_plugins

    shipped = {p.parent.name for p in Path(builtin_plugins.__file__).parent.glob("*/plugin.toml")}
    assert len(shipped) >= 9 and set(world.app.extensions["pteroca"].loaded) >= shipped


def test_the_export_holds_every_plugins_data_of_the_customer_and_nobody_elses(world):
    _client, _link, archive = export_of(world, ALICE)
    assert set(archive.namelist()) == EXPECTED
    files = {name: archive.read(name).decode() for name in archive.namelist()}
    for name, text in files.items():
        if name.endswith(".json"):
            json.loads(text)
        for secret in identifiers(BOB):
            assert secret not in text, f"{BOB.email}'s {secret!r} is in {name}"
        for staff in (AGENT.email, AGENT.ip):  # staff who answered her appear as "staff"
            assert staff not in text, f"the agent's {staff!r} is in {name}"
    whole = "\n".join(files.values())
    for mine in identifiers(ALICE):
        assert mine in whole, mine
    account = json.loads(files["account.json"])
    assert account["email"] == ALICE.email and account["name"] == ALICE.name
    assert ALICE.server in files["plugins/store/servers.json"]
    assert ALICE.discord_id in files["plugins/oauth_login/identities.json"]
    assert "Hello, " + ALICE.name in files["plugins/hello_world/greetings.json"]
    assert ALICE.stripe_id in files["plugins/stripe_payments/payments.json"]
    assert ALICE.paypal_id in files["plugins/paypal_payments/payments.json"]
    panel = json.loads(files["plugins/pterodactyl/panel_account.json"])
    assert panel["panel_user_id"]
    shared = json.loads(files["plugins/pterodactyl/shared_servers.json"])
    assert len(shared) == 1  # Bob's server, shared with Alice: its id, not Bob's data
    wallet = json.loads(files["wallet.json"])
    assert wallet["balance"] == sum(e["amount"] for e in wallet["entries"])
    assert ALICE.ip in files["audit_log.json"]
    assert "plugins/" in files["README.txt"] and "Could not be gathered" not in files["README.txt"]
    _check_plugins_added_later(files)


def _check_plugins_added_later(files: dict[str, str]) -> None:
    """invoices, support and announcements: Alice's own rows, each as she would expect."""
    profile = json.loads(files["plugins/invoices/billing_profile.json"])
    assert (profile["legal_name"], profile["address"], profile["country"]) == (
        ALICE.legal_name,
        ALICE.street,
        ALICE.country,
    )
    documents = json.loads(files["plugins/invoices/documents.json"])
    assert sorted(d["total"] for d in documents) == [3000, 5000]  # her two top-ups, invoiced
    for document in documents:
        assert document["kind"] == "invoice" and document["number"].startswith("INV-")
        assert document["currency"] == "USD"
        assert document["net"] + document["tax"] == document["total"] and document["tax"] > 0
        assert document["billed_to"]["legal_name"] == ALICE.legal_name
        assert document["lines"][0]["tax_rate"] == "20 %"  # French consumer: French VAT
    [ticket] = json.loads(files["plugins/support/tickets.json"])
    assert ticket["subject"] == ALICE.ticket_subject and ticket["server"]["name"] == ALICE.server
    mine, reply, note = ticket["messages"]
    assert (mine["author"], mine["text"], mine["internal"]) == ("you", ALICE.ticket_text, False)
    [attached] = mine["files"]
    assert attached["name"] == ALICE.ticket_file and attached["uploaded_by"] == "you"
    assert len(attached["sha256"]) == 64 and attached["bytes"] > 0
    assert (reply["author"], reply["internal"]) == ("staff", False)
    assert (note["author"], note["internal"]) == ("staff", True)  # notes about her: included
    assert ALICE.name in note["text"]
    assert json.loads(files["plugins/support/blocked.json"]) is None
    for area, when in (("dismissed", "dismissed_at"), ("emailed", "sent_at")):
        [row] = json.loads(files[f"plugins/announcements/{area}.json"])
        assert row["title"] == "Maintenance on Sunday" and row[when]


def test_a_staff_members_export_lists_their_work_by_number_and_no_customers_data(world):
    client = staff_client(world.app)
    assert client.post("/account/privacy/export").status_code == 302
    [link] = mail_links(world.app, "/account/privacy/export/")
    archive = zipfile.ZipFile(io.BytesIO(client.get(urlsplit(link).path).data))
    files = {name: archive.read(name).decode() for name in archive.namelist()}
    for name, text in files.items():
        for person in (ALICE, BOB):
            for secret in identifiers(person):
                if secret == person.ticket_subject and name == "email_log.json":
                    continue  # the subjects of the emails the agent got (kernel's email log)
                assert secret not in text, f"{person.email}'s {secret!r} is in {name}"
    activity = json.loads(files["plugins/support/staff_activity.json"])
    assert [m["kind"] for m in activity["messages_written"]] == ["reply", "note"] * 2
    assert all(
        set(m) == {"ticket", "message", "kind", "created_at"}  # no texts
        for m in activity["messages_written"]
    )
    assert len(activity["tickets_assigned"]) == 2  # the first to answer owns a ticket
    [written] = json.loads(files["plugins/announcements/written.json"])
    assert written["title"] == "Maintenance on Sunday"


def test_the_link_works_only_for_its_account_and_only_while_it_lasts(world):
    from datetime import timedelta

    from kernel.clock import now as utcnow
    from kernel.extensions import db
    from kernel.privacy import export
    from kernel.privacy.models import DataExport

    _client, link, _archive = export_of(world, ALICE)
    path = urlsplit(link).path
    anonymous = world.app.test_client().get(path)
    assert anonymous.status_code == 302 and "/login" in anonymous.location
    bob = person_client(world.app, BOB)
    refused = bob.get(path)
    assert refused.status_code == 403 and "another account" in refused.text
    tampered = person_client(world.app, ALICE).get(path[:-3] + "abc")
    assert tampered.status_code == 400
    with world.app.app_context():
        row = db.session.scalars(db.select(DataExport)).one()
        file = export.exports_dir() / row.filename
        assert file.is_file() and oct(file.stat().st_mode)[-3:] == "600"
        assert str(world.app.instance_path) in str(file)  # never under a served folder
        assert export.expire_exports(utcnow() + timedelta(hours=73)) == 1
        assert not file.exists()
    gone = person_client(world.app, ALICE).get(path)
    assert gone.status_code in (400, 410)


def test_asking_again_at_once_is_refused_with_a_message(world):
    client, _link, _archive = export_of(world, ALICE)
    again = client.post("/account/privacy/export", follow_redirects=True)
    assert "a few minutes ago" in again.text
    assert len(mail_links(world.app, "/account/privacy/export/")) == 1
