"""The ticket lists page by cursor (#20): the staff queue in its own order (open first, the
longest wait first, then the latest message) and a customer's tickets. A page costs the same
statements at 20 and at 100 rows; walking the pages with filters on gives every ticket once,
in order; a cursor or page size typed wrong is a 400 with the reason; a cursor naming a ticket
outside the list (the filter's, or another customer's) is refused, never used."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest

from kernel.extensions import db
from kernel.testing import statements
from tests.helpers import walk_pages

STAFF_ROW = r'<tr data-ticket="(\d+)"'
CUSTOMER_ROW = r'data-ticket="(\d+)"'
START = datetime(2026, 3, 1, 12, 0)
NEVER = datetime(9999, 12, 31)


def add_tickets(world, who: str, count: int, *, first: int = 0) -> None:
    """``count`` tickets of ``who``: open and closed, waiting on staff (since shuffled times,
    some equal) or on the customer, every fourth assigned to the agent; many share a time."""
    from builtin_plugins.support.models import Ticket

    with world.app.app_context():
        for n in range(first, first + count):
            closed = n % 5 == 0
            on_staff = not closed and n % 2 == 0
            db.session.add(
                Ticket(
                    user_id=world.ids[who],
                    subject=f"Problem {n}",
                    category_id=1,
                    status="closed" if closed else "open",
                    waiting_on="staff" if on_staff else "customer",
                    waiting_since=START + timedelta(hours=(n * 7) % 13) if on_staff else None,
                    assignee_id=world.ids["agent"] if n % 4 == 0 else None,
                    created_at=START,
                    last_message_at=START + timedelta(minutes=(n * 11) % 17),
                    server_snapshot={},
                )
            )
        db.session.commit()
        db.session.remove()


def staff_order(tickets) -> list[int]:
    return [
        t.id
        for t in sorted(
            tickets,
            key=lambda t: (
                t.status != "open",
                t.waiting_since or NEVER,
                -t.last_message_at.timestamp(),
                -t.id,
            ),
        )
    ]


def customer_order(tickets) -> list[int]:
    return [
        t.id
        for t in sorted(
            tickets, key=lambda t: (t.status != "open", -t.last_message_at.timestamp(), -t.id)
        )
    ]


def tickets(world, *conditions):
    from builtin_plugins.support.models import Ticket

    with world.app.app_context():
        rows = list(db.session.scalars(db.select(Ticket).where(*conditions)))
        db.session.expunge_all()
        return rows


@pytest.fixture
def crowd(world):
    add_tickets(world, "customer", 130)
    add_tickets(world, "other", 30, first=130)
    return world


def test_a_page_costs_the_same_statements_at_20_and_at_100_rows(crowd):
    agent, customer = crowd.client_as("agent"), crowd.client_as("customer")
    for client, url, row in (
        (agent, "/admin/support/tickets/?status=all&", STAFF_ROW),
        (customer, "/support/?", CUSTOMER_ROW),
    ):
        counts = {}
        for size in (20, 100):
            first = client.get(f"{url}per_page={size}")  # warm, and a cursor for page two
            assert first.status_code == 200
            assert len(re.findall(row, first.text)) == size
            older = re.findall(row, first.text)[-1]
            for name, query in (
                ("first", f"per_page={size}"),
                ("later", f"per_page={size}&before={older}"),
            ):
                with statements(crowd.app) as seen:
                    assert client.get(f"{url}{query}").status_code == 200
                counts[(size, name)] = len(seen)
        assert counts[(20, "first")] == counts[(100, "first")], (url, counts)
        assert counts[(20, "later")] == counts[(100, "later")], (url, counts)
        paged = [s for s in seen if "FROM support_ticket" in s]
        assert paged and not any(re.search(r"OFFSET (?!0\b|\?)", s) for s in paged), paged


def test_walking_the_queue_with_filters_gives_every_ticket_once_in_order(crowd):
    from builtin_plugins.support.models import Ticket

    agent = crowd.client_as("agent")
    everything = staff_order(tickets(crowd))
    pages = walk_pages(agent, "/admin/support/tickets/?status=all&per_page=10", STAFF_ROW)
    assert [i for page in pages for i in page] == everything
    unassigned_open = staff_order(
        tickets(crowd, Ticket.status == "open", Ticket.assignee_id.is_(None))
    )
    pages = walk_pages(agent, "/admin/support/tickets/?assignee=none&per_page=10", STAFF_ROW)
    assert [i for page in pages for i in page] == unassigned_open
    assert all(len(page) == 10 for page in pages[:-1])
    # and back, from the last page to the first through "Previous"
    last = f"/admin/support/tickets/?assignee=none&per_page=10&before={pages[-2][-1]}"
    back = walk_pages(agent, last, STAFF_ROW, rel="prev")
    assert [i for page in reversed(back) for i in page] == unassigned_open
    searched = staff_order(
        tickets(crowd, Ticket.status == "closed", Ticket.subject.like("%Problem 1%"))
    )
    pages = walk_pages(
        agent, "/admin/support/tickets/?status=closed&q=Problem+1&per_page=10", STAFF_ROW
    )
    assert [i for page in pages for i in page] == searched and len(searched) > 0


@pytest.mark.parametrize(
    "query",
    [
        "per_page=9",
        "per_page=201",
        "per_page=x",
        "before=abc",
        "before=-1",
        "before=0",
        "before=99999999999999999999999",
        "before=1&after=2",
        "after=%C2%B2",
        "before=999999",  # no such ticket
    ],
)
def test_a_bad_cursor_or_page_size_is_a_400_with_the_reason(crowd, query):
    for who, url, row in (
        ("agent", "/admin/support/tickets/", STAFF_ROW),
        ("customer", "/support/", CUSTOMER_ROW),
    ):
        page = crowd.client_as(who).get(f"{url}?{query}")
        assert page.status_code == 400, (url, query)
        assert "per_page" in page.text or "before" in page.text or "does not show" in page.text
        assert re.findall(row, page.text)  # the first page, shown anyway


def test_a_cursor_cannot_reach_outside_the_filter_or_into_another_customers_tickets(crowd):
    from builtin_plugins.support.models import Ticket

    closed = tickets(crowd, Ticket.status == "closed")[3].id
    agent = crowd.client_as("agent")
    page = agent.get(f"/admin/support/tickets/?status=open&before={closed}")
    assert page.status_code == 400 and "does not show" in page.text
    shown = {int(i) for i in re.findall(STAFF_ROW, page.text)}
    assert shown and not shown & {t.id for t in tickets(crowd, Ticket.status == "closed")}

    customer = crowd.client_as("customer")
    mine = customer_order(tickets(crowd, Ticket.user_id == crowd.ids["customer"]))
    pages = walk_pages(customer, "/support/?per_page=10", CUSTOMER_ROW)
    assert [i for page in pages for i in page] == mine
    others = [t.id for t in tickets(crowd, Ticket.user_id == crowd.ids["other"])]
    for cursor in ("before", "after"):
        forged = customer.get(f"/support/?{cursor}={others[4]}")
        assert forged.status_code == 400
        assert not set(others) & {int(i) for i in re.findall(CUSTOMER_ROW, forged.text)}
