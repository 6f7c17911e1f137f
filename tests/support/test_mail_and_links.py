"""Emails both ways, the signed reply link, and CSRF on every form of the plugin."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from tests.support.conftest import open_ticket, ticket_id_of


def mail_to(instance, address: str) -> list:
    return [m for m in instance.sent_mail() if address in str(m["To"])]


def text_of(message) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def reply_link(message) -> str:
    url = re.search(r"https?://\S+/support/reply/\S+", text_of(message)).group(0)
    return url.split("://", 1)[1].split("/", 1)[1].join(["/", ""])


def test_staff_hear_of_new_tickets_and_replies(world, pteroca_instance):
    customer = world.client_as("customer")
    tid = ticket_id_of(open_ticket(customer, server=world.server_id, body="Crash at **noon**"))
    [to_agent] = mail_to(pteroca_instance, "agent@example.com")
    assert f"[#{tid}] New ticket: My server is down" == str(to_agent["Subject"])
    body = text_of(to_agent)
    assert "Crash at **noon**" in body and f"/admin/support/tickets/{tid}" in body
    assert "Survival (MC plan, active" in body
    assert not mail_to(pteroca_instance, "helper@example.com")  # no support.tickets: no mail
    assert not mail_to(pteroca_instance, "other@example.com")
    world.client_as("lead").post(
        f"/admin/support/tickets/{tid}/assign", data={"assignee": str(world.ids["agent"])}
    )
    assert "Assigned to you" in str(mail_to(pteroca_instance, "agent@example.com")[-1]["Subject"])
    before = len(pteroca_instance.sent_mail())
    customer.post(f"/support/{tid}/reply", data={"body": "Still down"})
    new = pteroca_instance.sent_mail()[before:]
    assert [str(m["To"]) for m in new] == ["agent@example.com"]  # the assignee only
    assert "Customer replied" in str(new[0]["Subject"]) and "Still down" in text_of(new[0])


def test_a_team_address_replaces_the_list_of_staff(world, pteroca_instance):
    from kernel.plugins.settings import set_settings

    with world.app.app_context():
        set_settings("support", {"team_email": "help@example.net"})
    open_ticket(world.client_as("customer"))
    assert [str(m["To"]) for m in pteroca_instance.sent_mail()] == ["help@example.net"]


def test_the_customer_gets_replies_but_never_notes(world, pteroca_instance):
    customer = world.client_as("customer")
    tid = ticket_id_of(open_ticket(customer))
    agent = world.client_as("agent")
    agent.post(f"/admin/support/tickets/{tid}/note", data={"body": "SECRET-NOTE"})
    assert not mail_to(pteroca_instance, "cust@example.com")
    agent.post(f"/admin/support/tickets/{tid}/reply", data={"body": "Try *this*"})
    [mail] = mail_to(pteroca_instance, "cust@example.com")
    assert "Try *this*" in text_of(mail) and "Agnes Agent answered" in text_of(mail)
    assert all(
        "SECRET-NOTE" not in m.as_string()
        for m in pteroca_instance.sent_mail()
        if "cust@" in str(m["To"])
    )


def test_the_note_job_refuses_to_mail_a_note_to_the_customer(world, pteroca_instance):
    """Even called by mistake with a note's id, the customer job sends nothing."""
    from builtin_plugins.support import notify
    from kernel.extensions import db
    from tests.support.conftest import models

    tid = ticket_id_of(open_ticket(world.client_as("customer")))
    world.client_as("agent").post(f"/admin/support/tickets/{tid}/note", data={"body": "SECRET"})
    with world.app.app_context():
        note = db.session.scalar(db.select(models().Message).where(models().Message.kind == "note"))
        assert notify.send_customer("staff_reply", tid, note.id) == 0
    assert not mail_to(pteroca_instance, "cust@example.com")


def test_the_reply_link_works_without_logging_in(world, pteroca_instance):
    customer = world.client_as("customer")
    tid = ticket_id_of(open_ticket(customer))
    world.client_as("agent").post(
        f"/admin/support/tickets/{tid}/reply", data={"body": "Which map?"}
    )
    link = reply_link(mail_to(pteroca_instance, "cust@example.com")[-1])
    anonymous = world.app.test_client()
    page = anonymous.get(link)
    assert page.status_code == 200 and "Which map?" in page.text
    assert anonymous.post(link, data={"body": "The desert one"}).status_code == 303
    assert world.ticket(tid).waiting_on == "staff"
    assert "The desert one" in customer.get(f"/support/{tid}").text
    empty = anonymous.post(link, data={"body": " "})
    assert empty.status_code == 400 and "empty" in empty.text
    world.client_as("agent").post(f"/admin/support/tickets/{tid}/close")
    closed_link = reply_link(mail_to(pteroca_instance, "cust@example.com")[-1])
    assert anonymous.post(closed_link, data={"body": "again"}).status_code == 409
    assert (
        anonymous.post(closed_link, data={"action": "reopen", "body": "Not fixed"}).status_code
        == 303
    )
    assert world.ticket(tid).status == "open"
    assert "Not fixed" in customer.get(f"/support/{tid}").text


def test_reply_links_expire_and_die_with_the_account(world, pteroca_instance, monkeypatch):
    import time

    customer = world.client_as("customer")
    tid = ticket_id_of(open_ticket(customer))
    world.client_as("agent").post(f"/admin/support/tickets/{tid}/reply", data={"body": "x"})
    link = reply_link(mail_to(pteroca_instance, "cust@example.com")[-1])
    anonymous = world.app.test_client()
    assert anonymous.get(link).status_code == 200
    real = time.time
    with monkeypatch.context() as later:  # itsdangerous dates links by the wall clock
        later.setattr(time, "time", lambda: real() + timedelta(days=8).total_seconds())
        expired = anonymous.get(link)
    assert expired.status_code == 410 and "expired" in expired.text
    from kernel.accounts.models import User
    from kernel.extensions import db

    with world.app.app_context():
        db.session.get(User, world.ids["customer"]).is_blocked = True
        db.session.commit()
    blocked = anonymous.get(link)
    assert blocked.status_code == 403


@pytest.mark.parametrize(
    "pteroca_config", [{"WTF_CSRF_ENABLED": True, "RATELIMIT_LOGIN": "10000 per minute"}]
)
def test_every_form_of_the_plugin_needs_its_csrf_token(world):
    from tests.support.conftest import PASSWORD

    def logged_in(who):
        client = world.app.test_client()
        page = client.get("/login").text
        token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
        client.post(
            "/login", data={"email": world.emails[who], "password": PASSWORD, "csrf_token": token}
        )
        return client

    customer, agent = logged_in("customer"), logged_in("lead")
    form = customer.get("/support/new").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
    assert (
        customer.post(
            "/support/new",
            data={"subject": "With token", "body": "b", "category": "1", "csrf_token": token},
        ).status_code
        == 303
    )
    posts = [
        r
        for r in world.app.url_map.iter_rules()
        if r.endpoint.startswith("support") and "POST" in r.methods
    ]
    assert len(posts) > 15
    for rule in posts:
        url = re.sub(r"<int:\w+>", "1", rule.rule).replace("<token>", "x")
        for client in (customer, agent):
            response = client.post(url, data={"body": "no token", "subject": "no token"})
            assert response.status_code == 400, (url, response.status_code)
            assert "CSRF" in response.text or "expired" in response.text.lower(), url
