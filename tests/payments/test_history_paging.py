"""The balance history pages by cursor, for the customer (wallet) and for staff (admin wallet):
every movement once, newest first, only the account's own, hostile cursors a clear 400."""

from __future__ import annotations

import re
from urllib.parse import unquote

import pytest

from kernel.extensions import db
from kernel.payments import ledger


def credit_many(app, user_id: int, count: int, tag: str) -> None:
    with app.app_context():
        for n in range(count):
            ledger.credit(
                user_id, 100 + n, "adjustment", f"{tag}:{n}", {"reason": f"{tag}-{n:03d}"}
            )
        db.session.commit()


def reasons(page: str, tag: str) -> list[str]:
    return re.findall(rf"{tag}-(\d{{3}})", page)


def link(page: str, rel: str) -> str | None:
    found = re.search(rf'rel="{rel}" href="([^"]+)"', page)
    return found.group(1).replace("&amp;", "&") if found else None


@pytest.fixture
def site(pteroca_instance):
    return pteroca_instance.app


def test_the_customer_walks_the_whole_history_once(site, login_as):
    client = login_as("customer")
    other = login_as("customer")
    credit_many(site, client.user.id, 45, "mine")
    credit_many(site, other.user.id, 45, "theirs")
    seen, url, last = [], "/wallet", ""
    while url:
        page = client.get(url)
        assert page.status_code == 200
        assert "theirs-" not in page.text
        seen.append(reasons(page.text, "mine"))
        url, last = link(page.text, "next"), page.text
    assert [len(p) for p in seen] == [20, 20, 5]
    assert [n for p in seen for n in p] == [f"{n:03d}" for n in range(44, -1, -1)]
    newer = client.get(link(last, "prev"))  # back up from the last page
    assert reasons(newer.text, "mine") == [f"{n:03d}" for n in range(24, 4, -1)]
    assert "Latest" in newer.text and 'href="/wallet#balance-history"' in newer.text


def test_a_forged_cursor_never_shows_another_customers_movements(site, login_as):
    client = login_as("customer")
    other = login_as("customer")
    credit_many(site, client.user.id, 3, "mine")
    credit_many(site, other.user.id, 3, "theirs")
    for cursor in ("before=9999999", "after=0000001", "after=1", "before=2"):
        page = client.get(f"/wallet?{cursor}")
        assert page.status_code == 200
        assert "theirs-" not in page.text


@pytest.mark.parametrize(
    "query", ["before=x", "after=-1", "before=1&after=1", "per_page=1000", "before=%C2%B2"]
)
def test_a_malformed_history_cursor_is_a_400_with_the_latest_movements(site, login_as, query):
    client = login_as("customer")
    credit_many(site, client.user.id, 2, "mine")
    page = client.get(f"/wallet?{query}")
    assert page.status_code == 400
    assert "showing the latest" in page.text
    assert reasons(page.text, "mine") == ["001", "000"]


def test_staff_page_a_customers_movements_on_the_admin_wallet(site, login_as):
    customer = login_as("customer")
    credit_many(site, customer.user.id, 35, "mine")
    admin = login_as("admin")
    first = admin.get(f"/admin/wallets/?email={customer.user.email}")
    assert reasons(first.text, "mine") == [f"{n:03d}" for n in range(34, 4, -1)]
    older = link(first.text, "next")
    assert f"email={customer.user.email}" in unquote(older)
    second = admin.get(older)
    assert reasons(second.text, "mine") == [f"{n:03d}" for n in range(4, -1, -1)]
    bad = admin.get(f"/admin/wallets/?email={customer.user.email}&before=nope")
    assert bad.status_code == 400 and "showing the latest movements" in bad.text
