"""The documents lists page by cursor (#20): the admin's and a customer's, newest issued
first, whatever the order of the ids. A page costs the same statements at 20 and at 100 rows;
walking the pages with a filter on gives every matching document once, in order; a cursor or
page size typed wrong is a 400 with the reason, and a cursor naming a document outside the
list (the filter's, or another customer's) is refused, never used."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest

from builtin_plugins.invoices.models import Document
from kernel.accounts.services import create_user
from kernel.extensions import db
from kernel.testing import login, statements
from tests.helpers import walk_pages

PASSWORD = "customer-password-1"
ROW = r'data-document="(\d+)"'
START = datetime(2026, 3, 1, 12, 0)


def add_documents(count: int, user_id: int, *, first: int = 0) -> None:
    """``count`` documents of ``user_id``: every third one in the US, the rest in France, their
    issue dates shuffled against their ids (so id order is not the list's order), some equal."""
    for n in range(first, first + count):
        country = "US" if n % 3 == 0 else "FR"
        db.session.add(
            Document(
                kind="invoice",
                series="T",
                sequence=n + 1,
                number=f"T-{n + 1:06d}",
                user_id=user_id,
                issued_at=START + timedelta(hours=(n * 37) % 101),
                currency="EUR",
                net=100,
                tax=20,
                gross=120,
                price_mode="gross",
                source=f"test:{n}",
                subject=f"payment:{n}",
                buyer_country=country,
                seller={},
                buyer={"email": "x@example.com", "country": country},
                notes=[],
                meta={},
            )
        )
    db.session.commit()


def in_list_order(documents) -> list[int]:
    return [d.id for d in sorted(documents, key=lambda d: (d.issued_at, d.id), reverse=True)]


@pytest.fixture
def people(shop):
    with shop.app_context():
        create_user("boss@blockhost.test", PASSWORD, name="Boss", role="admin")
        alice = create_user("alice@example.fr", PASSWORD, name="Alice")
        bob = create_user("bob@example.de", PASSWORD, name="Bob")
        add_documents(130, alice.id)
        add_documents(25, bob.id, first=130)
        ids = {"alice": alice.id, "bob": bob.id}
        db.session.remove()
    return ids


def test_a_page_costs_the_same_statements_at_20_and_at_100_rows(shop, people):
    admin = login(shop, "boss@blockhost.test", PASSWORD)
    alice = login(shop, "alice@example.fr", PASSWORD)
    for client, url in ((admin, "/admin/invoices/"), (alice, "/wallet/invoices")):
        counts = {}
        for size in (20, 100):
            first = client.get(f"{url}?per_page={size}")  # warm, and a cursor for page two
            assert first.status_code == 200
            assert len(re.findall(ROW, first.text)) == size
            older = re.findall(ROW, first.text)[-1]
            for name, query in (
                ("first", f"per_page={size}"),
                ("later", f"per_page={size}&before={older}"),
            ):
                with statements(shop) as seen:
                    assert client.get(f"{url}?{query}").status_code == 200
                counts[(size, name)] = len(seen)
        assert counts[(20, "first")] == counts[(100, "first")], (url, counts)
        assert counts[(20, "later")] == counts[(100, "later")], (url, counts)
        paged = [s for s in seen if "FROM invoices_document" in s]
        assert paged and not any(re.search(r"OFFSET (?!0\b|\?)", s) for s in paged), paged


def test_walking_the_admin_list_with_a_filter_gives_every_document_once_in_order(shop, people):
    admin = login(shop, "boss@blockhost.test", PASSWORD)
    with shop.app_context():
        french = in_list_order(
            db.session.scalars(db.select(Document).where(Document.buyer_country == "FR"))
        )
        everything = in_list_order(db.session.scalars(db.select(Document)))
    pages = walk_pages(admin, "/admin/invoices/?country=FR&per_page=10", ROW)
    assert [i for page in pages for i in page] == french
    assert all(len(page) == 10 for page in pages[:-1]) and len(pages) == -(-len(french) // 10)
    assert [i for page in walk_pages(admin, "/admin/invoices/?per_page=50", ROW) for i in page] == (
        everything
    )
    # and back: from the last page, "Newer" links lead to the first page, in the same order
    last = f"/admin/invoices/?country=FR&per_page=10&before={pages[-2][-1]}"
    back = walk_pages(admin, last, ROW, rel="prev")
    assert [i for page in reversed(back) for i in page] == french


@pytest.mark.parametrize(
    "query",
    [
        "per_page=9",
        "per_page=201",
        "per_page=abc",
        "per_page=-20",
        "before=abc",
        "before=-1",
        "before=0",
        "before=99999999999999999999999",
        "before=1&after=2",
        "after=1e3",
        "before=%C2%B2",
        "before=999999",  # no such document
    ],
)
def test_a_bad_cursor_or_page_size_is_a_400_with_the_reason_and_the_newest_page(
    shop, people, query
):
    admin = login(shop, "boss@blockhost.test", PASSWORD)
    alice = login(shop, "alice@example.fr", PASSWORD)
    for client, url in ((admin, "/admin/invoices/"), (alice, "/wallet/invoices")):
        page = client.get(f"{url}?{query}")
        assert page.status_code == 400, (url, query)
        assert "per_page" in page.text or "before" in page.text or "row" in page.text
        assert len(re.findall(ROW, page.text)) > 0  # the newest page, shown anyway


def test_a_cursor_outside_the_filter_is_refused_not_used(shop, people):
    admin = login(shop, "boss@blockhost.test", PASSWORD)
    with shop.app_context():
        american = db.session.scalar(db.select(Document.id).where(Document.buyer_country == "US"))
    page = admin.get(f"/admin/invoices/?country=FR&before={american}")
    assert page.status_code == 400 and "does not show" in page.text
    shown = {int(i) for i in re.findall(ROW, page.text)}
    with shop.app_context():
        countries = set(
            db.session.scalars(db.select(Document.buyer_country).where(Document.id.in_(shown)))
        )
    assert countries == {"FR"}


def test_a_customer_pages_through_their_own_invoices_only(shop, people):
    alice = login(shop, "alice@example.fr", PASSWORD)
    with shop.app_context():
        hers = in_list_order(
            db.session.scalars(db.select(Document).where(Document.user_id == people["alice"]))
        )
        bobs = list(
            db.session.scalars(db.select(Document.id).where(Document.user_id == people["bob"]))
        )
    pages = walk_pages(alice, "/wallet/invoices?per_page=10", ROW)
    assert [i for page in pages for i in page] == hers
    for cursor in ("before", "after"):
        forged = alice.get(f"/wallet/invoices?{cursor}={bobs[5]}")
        assert forged.status_code == 400
        assert not set(bobs) & {int(i) for i in re.findall(ROW, forged.text)}
