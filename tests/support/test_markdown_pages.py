"""Messages written with every trick of tests/markup_checks.py render inert on every page that
shows them: the customer's ticket, the reply-link page and the staff's ticket page."""

from __future__ import annotations

import re

from tests.markup_checks import PAYLOADS, Inventory, problems
from tests.support.conftest import open_ticket, ticket_id_of

BODY = re.compile(r'class="card-body message-body">(.*?)</div>', re.S)


def event_attributes(page: str) -> list[str]:
    inventory = Inventory()
    inventory.feed(page)
    return [f"<{t} {a}>" for t, attrs in inventory.tags for a in attrs if a.startswith("on")]


def test_hostile_markdown_is_inert_for_customers_and_staff(world, pteroca_instance):
    customer = world.client_as("customer")
    everything = "\n\n".join(PAYLOADS)
    tid = ticket_id_of(open_ticket(customer, body=everything))
    agent = world.client_as("agent")
    assert (
        agent.post(f"/admin/support/tickets/{tid}/note", data={"body": everything}).status_code
        == 303
    )
    assert (
        agent.post(f"/admin/support/tickets/{tid}/reply", data={"body": everything}).status_code
        == 303
    )
    mail = [m for m in pteroca_instance.sent_mail() if "cust@" in str(m["To"])][-1]
    link = re.search(r"/support/reply/\S+", mail.get_body(("plain",)).get_content()).group(0)
    pages = {
        "customer": customer.get(f"/support/{tid}").text,
        "link": world.app.test_client().get(link).text,
        "staff": agent.get(f"/admin/support/tickets/{tid}").text,
    }
    for name, page in pages.items():
        bodies = BODY.findall(page)
        assert len(bodies) == (3 if name == "staff" else 2), name  # the note is staff-only
        for body in bodies:
            assert problems(body) == [], (name, body)
            assert "&lt;script&gt;" in body  # shown as text, not dropped silently
        assert event_attributes(page) == [], name
        assert "<script>alert" not in page and "<svg" not in page and "<iframe" not in page
