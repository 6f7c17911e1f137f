"""A ticket's life through the pages: open (from a server), answer, notes, assignment, close,
reopen, blocked customers, limits, unread counts, SLA age and the audit trail."""

from __future__ import annotations

from datetime import timedelta

from kernel import clock
from kernel.extensions import db
from tests.support.conftest import (
    PNG,
    audit_actions,
    models,
    open_ticket,
    post_files,
    ticket_id_of,
)


def staff_page(world, ticket_id, who="agent"):
    return world.client_as(who).get(f"/admin/support/tickets/{ticket_id}")


def test_a_ticket_about_a_server_carries_its_state(world):
    customer = world.client_as("customer")
    page = customer.get(f"/support/new?server={world.server_id}")
    assert page.status_code == 200
    assert f'<option value="{world.server_id}" selected>Survival' in page.text
    assert "Other&#39;s box" not in page.text  # only one's own servers are offered
    tid = ticket_id_of(open_ticket(customer, server=world.server_id, priority="high"))
    ticket = world.ticket(tid)
    assert ticket.service_id == world.server_id and ticket.priority == "high"
    snap = ticket.server_snapshot
    assert snap["name"] == "Survival" and snap["state"] == "active"
    assert snap["product"] == "MC plan" and snap["live_state"] == "unknown"
    staff = staff_page(world, tid)
    assert 'id="server-snapshot"' in staff.text and "fulfilled by staff" in staff.text
    mine = customer.get(f"/support/{tid}")
    assert "Survival" in mine.text and "fulfilled by staff" not in mine.text  # staff's view only


def test_a_ticket_cannot_be_about_someone_elses_server(world):
    customer = world.client_as("customer")
    refused = open_ticket(customer, server=world.other_server_id, subject="Mine now")
    assert refused.status_code == 400 and "choose one of your own servers" in refused.text
    assert 'value="Mine now"' in refused.text  # what was typed is kept
    with world.app.app_context():
        assert db.session.scalar(db.select(db.func.count(models().Ticket.id))) == 0


BAD_INPUT = [
    ({"subject": "ab"}, "subject of at least 3"),
    ({"subject": "x" * 161}, "under 160"),
    ({"body": "   "}, "the message is empty"),
    ({"body": "x" * 20001}, "under 20000"),
    ({"category": ""}, "choose a category"),
    ({"category": "99"}, "choose one of the categories"),
    ({"category": "two"}, "category: choose one of the options"),
    ({"priority": "critical!"}, "choose a priority"),
    ({"server": "abc"}, "server: choose one of the options"),
]


def test_bad_input_is_a_400_that_keeps_what_was_typed(world):
    customer = world.client_as("customer")
    for data, message in BAD_INPUT:
        fields = {
            "subject": "Lag spikes",
            "body": "Every evening",
            "category": "1",
            "priority": "normal",
            "server": "",
            **data,
        }
        response = customer.post("/support/new", data=fields)
        assert response.status_code == 400 and message in response.text, data
        if fields["body"].strip() and len(fields["body"]) < 100:
            assert fields["body"] in response.text
    with world.app.app_context():
        assert db.session.scalar(db.select(db.func.count(models().Ticket.id))) == 0


def test_staff_answer_and_the_turn_moves(world, pteroca_instance):
    customer = world.client_as("customer")
    tid = ticket_id_of(open_ticket(customer, body="Help *please*"))
    assert world.ticket(tid).waiting_on == "staff"
    agent = world.client_as("agent")
    assert (
        agent.post(
            f"/admin/support/tickets/{tid}/note", data={"body": "Customer is on node 3"}
        ).status_code
        == 303
    )
    assert world.ticket(tid).waiting_on == "staff"  # a note is not an answer
    assert (
        agent.post(
            f"/admin/support/tickets/{tid}/reply", data={"body": "Restarted it."}
        ).status_code
        == 303
    )
    ticket = world.ticket(tid)
    assert ticket.waiting_on == "customer" and ticket.waiting_since is None
    assert ticket.assignee_id == world.ids["agent"]  # who answers first owns it
    assert ticket.first_response_at is not None
    assert customer.post(f"/support/{tid}/reply", data={"body": "Works, thanks"}).status_code == 303
    assert world.ticket(tid).waiting_on == "staff"
    page = customer.get(f"/support/{tid}")
    assert "Restarted it." in page.text and "Works, thanks" in page.text
    assert "<em>please</em>" in page.text  # Markdown rendered
    assert "Customer is on node 3" not in page.text  # the note stays internal


def test_close_and_reopen_by_both_sides(world, pteroca_instance):
    customer = world.client_as("customer")
    tid = ticket_id_of(open_ticket(customer))
    agent = world.client_as("agent")
    assert agent.post(f"/admin/support/tickets/{tid}/close").status_code == 303
    assert world.ticket(tid).status == "closed"
    assert any("Ticket closed" in str(m["Subject"]) for m in pteroca_instance.sent_mail())
    refused = customer.post(f"/support/{tid}/reply", data={"body": "one more thing"})
    assert refused.status_code == 409 and "reopen it" in refused.text
    assert "one more thing" in refused.text  # the draft is kept
    again = agent.post(f"/admin/support/tickets/{tid}/close")
    assert again.status_code == 409 and "closed already" in again.text
    assert customer.post(f"/support/{tid}/reopen").status_code == 303
    ticket = world.ticket(tid)
    assert ticket.status == "open" and ticket.waiting_on == "staff"
    assert customer.post(f"/support/{tid}/reopen").status_code == 409
    assert customer.post(f"/support/{tid}/close").status_code == 303
    page = customer.get(f"/support/{tid}")
    assert "closed by the customer" in page.text and "reopened by the customer" in page.text
    reply_and_close = agent.post(f"/admin/support/tickets/{tid}/reopen")
    assert reply_and_close.status_code == 303
    agent.post(f"/admin/support/tickets/{tid}/reply", data={"body": "Done", "close": "1"})
    assert world.ticket(tid).status == "closed"


def test_a_blocked_customer_cannot_open_tickets_but_can_answer(world):
    customer = world.client_as("customer")
    tid = ticket_id_of(open_ticket(customer))
    agent = world.client_as("agent")
    assert (
        agent.post(f"/admin/support/tickets/{tid}/block", data={"reason": "abusive"}).status_code
        == 303
    )
    page = customer.get("/support/new")
    assert page.status_code == 403 and "cannot open new tickets" in page.text
    refused = open_ticket(customer, subject="Another one")
    assert refused.status_code == 403
    assert "cannot open new tickets" in customer.get("/support/").text
    assert 'id="new-ticket"' not in customer.get("/support/").text
    assert customer.post(f"/support/{tid}/reply", data={"body": "still here"}).status_code == 303
    with world.app.app_context():
        assert db.session.scalar(db.select(db.func.count(models().Ticket.id))) == 1
    blocks = agent.get("/admin/support/blocks/")
    assert "cust@example.com" in blocks.text and "abusive" in blocks.text
    assert agent.post(f"/admin/support/blocks/{world.ids['customer']}/remove").status_code == 303
    assert open_ticket(customer, subject="Allowed again").status_code == 303
    assert agent.post(f"/admin/support/blocks/{world.ids['customer']}/remove").status_code == 409


def test_blocking_by_email_and_refusals(world):
    agent = world.client_as("agent")
    unknown = agent.post("/admin/support/blocks/add", data={"email": "nobody@example.com"})
    assert unknown.status_code == 400 and "no account with the address" in unknown.text
    assert agent.post("/admin/support/blocks/add", data={"email": ""}).status_code == 400
    assert (
        agent.post("/admin/support/blocks/add", data={"email": "AGENT@example.com"}).status_code
        == 400
    )  # staff are not blocked from tickets
    assert (
        agent.post(
            "/admin/support/blocks/add", data={"email": "Other@Example.com", "reason": "spam"}
        ).status_code
        == 303
    )
    assert open_ticket(world.client_as("other")).status_code == 403


def test_open_ticket_limit(world, pteroca_instance):
    from kernel.plugins.settings import set_settings

    with world.app.app_context():
        set_settings("support", {"max_open_tickets": 2})
    customer = world.client_as("customer")
    first = ticket_id_of(open_ticket(customer, subject="one"))
    ticket_id_of(open_ticket(customer, subject="two"))
    refused = open_ticket(customer, subject="three")
    assert refused.status_code == 409 and "close one before opening another" in refused.text
    customer.post(f"/support/{first}/close")
    assert open_ticket(customer, subject="three").status_code == 303


def test_assignment_and_changes(world):
    customer = world.client_as("customer")
    tid = ticket_id_of(open_ticket(customer))
    lead = world.client_as("lead")
    refused = lead.post(
        f"/admin/support/tickets/{tid}/assign", data={"assignee": str(world.ids["other"])}
    )
    assert refused.status_code == 400 and "cannot answer tickets" in refused.text
    assert (
        lead.post(f"/admin/support/tickets/{tid}/assign", data={"assignee": "x"}).status_code == 400
    )
    assert (
        lead.post(
            f"/admin/support/tickets/{tid}/assign", data={"assignee": str(world.ids["agent"])}
        ).status_code
        == 303
    )
    assert world.ticket(tid).assignee_id == world.ids["agent"]
    assert (
        lead.post(
            f"/admin/support/tickets/{tid}/update", data={"category": "3", "priority": "urgent"}
        ).status_code
        == 303
    )
    ticket = world.ticket(tid)
    assert (ticket.category_id, ticket.priority) == (3, "urgent")
    assert (
        lead.post(
            f"/admin/support/tickets/{tid}/update", data={"category": "1", "priority": "panic"}
        ).status_code
        == 400
    )
    assert (
        lead.post(f"/admin/support/tickets/{tid}/assign", data={"assignee": ""}).status_code == 303
    )
    assert world.ticket(tid).assignee_id is None


def test_every_action_is_audited(world):
    customer = world.client_as("customer")
    tid = ticket_id_of(open_ticket(customer, files=[("shot.png", PNG)]))
    agent = world.client_as("agent")
    agent.post(f"/admin/support/tickets/{tid}/note", data={"body": "n"})
    agent.post(f"/admin/support/tickets/{tid}/reply", data={"body": "r"})
    agent.post(f"/admin/support/tickets/{tid}/update", data={"category": "2", "priority": "low"})
    agent.post(f"/admin/support/tickets/{tid}/assign", data={"assignee": ""})
    with world.app.app_context():
        file_id = db.session.scalar(db.select(models().Attachment.id))
    agent.get(f"/admin/support/tickets/{tid}/files/{file_id}")
    agent.post(f"/admin/support/tickets/{tid}/close")
    customer.post(f"/support/{tid}/reopen")
    agent.post(f"/admin/support/tickets/{tid}/block")
    agent.post(f"/admin/support/tickets/{tid}/unblock")
    actions = [a for a in audit_actions(world.app) if a.startswith("support.")]
    assert actions == [
        "support.ticket_opened",
        "support.note_added",
        "support.replied",
        "support.changed",
        "support.assigned",
        "support.file_downloaded",
        "support.closed",
        "support.reopened",
        "support.customer_blocked",
        "support.customer_unblocked",
    ]


def test_unread_counts_in_both_menus(world):
    customer = world.client_as("customer")
    agent = world.client_as("agent")
    plain = world.client_as("plain_staff")
    assert "menu-badge" not in agent.get("/admin/").text
    tid = ticket_id_of(open_ticket(customer))
    admin_page = agent.get("/admin/").text
    assert (
        'Tickets <span class="badge rounded-pill text-bg-danger menu-badge">1</span>' in admin_page
    )
    assert admin_page.count(">Tickets <span") == 1  # the view and the menu item: one entry
    assert "Tickets" not in plain.get("/admin/").text  # no permission, no menu item
    agent.get(f"/admin/support/tickets/{tid}")  # read
    assert "menu-badge" not in agent.get("/admin/").text
    dashboard = customer.get("/dashboard").text
    assert "Support" in dashboard and "menu-badge" not in dashboard
    agent.post(f"/admin/support/tickets/{tid}/reply", data={"body": "Answer"})
    assert (
        'Support <span class="badge rounded-pill text-bg-danger menu-badge">1</span>'
        in customer.get("/dashboard").text
    )
    assert "new reply" in customer.get("/support/").text
    agent.post(f"/admin/support/tickets/{tid}/note", data={"body": "internal"})
    customer.get(f"/support/{tid}")
    assert "menu-badge" not in customer.get("/dashboard").text  # notes are never news for them
    customer.post(f"/support/{tid}/reply", data={"body": "more"})
    assert 'menu-badge">1</span>' in agent.get("/admin/").text


def test_sla_age_and_queue_filters(world):
    clock.freeze(clock.now())
    try:
        customer, other = world.client_as("customer"), world.client_as("other")
        old = ticket_id_of(open_ticket(customer, subject="Old problem"))
        clock.freeze(clock.now() + timedelta(hours=30))
        fresh = ticket_id_of(open_ticket(other, subject="New problem", category="2"))
        clock.freeze(clock.now() + timedelta(hours=5))
        agent = world.client_as("agent")
        queue = agent.get("/admin/support/tickets/").text
        assert queue.index("Old problem") < queue.index("New problem")  # longest wait first
        assert "sla-breach" in queue and "35h 00m" in queue and "sla-warn" in queue
        older = agent.get("/admin/support/tickets/?older_than=24").text
        assert "Old problem" in older and "New problem" not in older
        billing = agent.get("/admin/support/tickets/?category=2").text
        assert "New problem" in billing and "Old problem" not in billing
        agent.post(f"/admin/support/tickets/{old}/reply", data={"body": "on it"})
        on_customer = agent.get("/admin/support/tickets/?waiting=customer").text
        assert "Old problem" in on_customer and "New problem" not in on_customer
        mine = agent.get("/admin/support/tickets/?assignee=me").text
        assert "Old problem" in mine and "New problem" not in mine
        nobody = agent.get("/admin/support/tickets/?assignee=none").text
        assert "New problem" in nobody and "Old problem" not in nobody
        assert "Old problem" in agent.get(f"/admin/support/tickets/?q=%23{old}").text
        assert "New problem" in agent.get("/admin/support/tickets/?q=other@example").text
        agent.post(f"/admin/support/tickets/{fresh}/close")
        assert "New problem" not in agent.get("/admin/support/tickets/").text
        assert "New problem" in agent.get("/admin/support/tickets/?status=closed").text
        for junk in ("?status=evil", "?category=x", "?older_than=-3", "?page=0", "?assignee=;"):
            assert agent.get("/admin/support/tickets/" + junk).status_code == 200
    finally:
        clock.reset()


def test_tickets_waiting_on_the_customer_close_themselves(world, pteroca_instance):
    customer = world.client_as("customer")
    waiting = ticket_id_of(open_ticket(customer, subject="answered"))
    ignored = ticket_id_of(open_ticket(customer, subject="unanswered"))
    world.client_as("agent").post(f"/admin/support/tickets/{waiting}/reply", data={"body": "x"})
    clock.freeze(clock.now() + timedelta(days=15))
    try:
        from builtin_plugins.support import tickets

        with world.app.app_context():
            assert tickets.autoclose() == 1
            assert tickets.autoclose(0) == 0
    finally:
        clock.reset()
    assert world.ticket(waiting).status == "closed"
    assert world.ticket(ignored).status == "open"  # staff's turn: never closed for silence


def test_categories_need_support_manage_and_stay_when_used(world):
    agent, lead = world.client_as("agent"), world.client_as("lead")
    assert agent.get("/admin/support/categories/").status_code == 403
    assert lead.get("/admin/support/categories/").status_code == 200
    ticket_id_of(open_ticket(world.client_as("customer"), category="1"))
    lead.post("/admin/support/categories/delete/", data={"id": "1"})
    with world.app.app_context():
        assert db.session.get(models().TicketCategory, 1) is not None
    lead.post(
        "/admin/support/categories/new/",
        data={"name": "  Abuse  reports ", "description": "", "position": "5", "active": "y"},
    )
    with world.app.app_context():
        names = [c.name for c in db.session.scalars(db.select(models().TicketCategory))]
    assert "Abuse reports" in names
    assert "support.category_created" in audit_actions(world.app)


def test_saved_replies_fill_the_reply_box(world):
    agent = world.client_as("agent")
    assert agent.post(
        "/admin/support/saved-replies/new/",
        data={"title": "Restart", "body": "Please **restart** it."},
    ).status_code in (302, 303)
    tid = ticket_id_of(open_ticket(world.client_as("customer")))
    page = agent.get(f"/admin/support/tickets/{tid}")
    assert "Restart" in page.text
    with world.app.app_context():
        saved = db.session.scalar(db.select(models().SavedReply.id))
    filled = agent.get(f"/admin/support/tickets/{tid}?use={saved}")
    assert "Please **restart** it.</textarea>" in filled.text
    assert "support.saved_reply_created" in audit_actions(world.app)


def test_staff_files_and_customer_files_both_ways(world):
    customer = world.client_as("customer")
    tid = ticket_id_of(open_ticket(customer, files=[("screen.png", PNG)]))
    agent = world.client_as("agent")
    assert (
        post_files(
            agent,
            f"/admin/support/tickets/{tid}/reply",
            "See the log",
            files=[("fix.txt", b"do this\n")],
        ).status_code
        == 303
    )
    page = customer.get(f"/support/{tid}").text
    assert "screen.png" in page and "fix.txt" in page
