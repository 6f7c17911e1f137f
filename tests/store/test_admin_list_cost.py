"""Admin lists cost the same number of SQL statements whatever the number of rows on the page:
the accounts (and products) of a page's rows come in one query, never one per row."""

from __future__ import annotations

import re

import pytest

from kernel.accounts.services import create_user
from kernel.extensions import db
from kernel.testing import statements
from tests.helpers import walk_pages
from tests.store.conftest import recorder_product
from tests.store.test_admin import ADMIN_PASSWORD, client_for


@pytest.fixture
def admin(store_app):
    with store_app.app_context():
        create_user("admin@example.com", ADMIN_PASSWORD, name="Ada", role="admin")
    return store_app


def add_rows(app, start: int, count: int) -> None:
    """``count`` customers, each with a payment, a server and a voucher use."""
    from builtin_plugins.store.models import Product, Service, Voucher, VoucherUsage
    from kernel import now as utcnow
    from kernel.payments.models import Payment

    with app.app_context():
        product = (
            db.session.scalar(db.select(Product).where(Product.slug == "mc-small"))
            or recorder_product()
        )
        voucher = db.session.scalar(db.select(Voucher).where(Voucher.code == "COST")) or Voucher(
            code="COST", kind="balance", value=100, once_per_user=True, min_amount=0
        )
        db.session.add(voucher)
        for n in range(start, start + count):
            user = create_user(f"row{n}@example.com", "row-password-1", name=f"Row {n}")
            db.session.add(
                Payment(
                    user_id=user.id,
                    provider="stripe",
                    status="paid",
                    currency="USD",
                    amount_charged=100,
                    amount_credited=100,
                )
            )
            db.session.add(
                Service(
                    user_id=user.id,
                    product_id=product.id,
                    plan_id=product.plans[0].id,
                    name=f"s{n}",
                    state="active",
                    suspension="",
                    expires_at=utcnow(),
                    auto_renew=False,
                    slots=1,
                    price=100,
                    charged=100,
                    options={},
                    last_error="",
                )
            )
            db.session.add(
                VoucherUsage(voucher=voucher, user_id=user.id, reference=f"r{n}", amount=100)
            )
        db.session.commit()


URLS = ("/admin/payments/", "/admin/store/servers/", "/admin/store/voucher-uses/")


def counts(app, client) -> dict[str, int]:
    out = {}
    for url in URLS:
        assert client.get(url).status_code == 200, url  # warm
        with statements(app) as seen:
            page = client.get(url)
        assert page.status_code == 200
        out[url] = len(seen)
    return out


def test_twenty_and_a_full_page_of_rows_cost_the_same_statements(admin):
    add_rows(admin, 0, 20)
    client = client_for(admin)
    twenty = counts(admin, client)
    add_rows(admin, 20, 80)  # 100 rows: full pages (50) of distinct customers
    full = counts(admin, client)
    assert full == twenty
    page = client.get("/admin/store/voucher-uses/").text
    assert "row99@example.com" in page  # the emails are still shown
    assert "row99@example.com" in client.get("/admin/payments/").text
    assert "row99@example.com" in client.get("/admin/store/servers/").text


LISTS = (
    "/admin/users/",
    "/admin/audit/",
    "/admin/emails/",
    "/admin/payments/",
    "/admin/store/servers/",
    "/admin/store/voucher-uses/",
)


def add_log_rows(app, count: int) -> None:
    from sqlalchemy import insert

    from kernel.mail_delivery import EmailLog
    from kernel.models import AuditLog

    with app.app_context():
        db.session.execute(
            insert(AuditLog),
            [{"action": "cost.row", "target": f"t{n}", "details": {}} for n in range(count)],
        )
        db.session.execute(
            insert(EmailLog),
            [{"recipient": f"m{n}@example.com", "subject": f"s{n}"} for n in range(count)],
        )
        db.session.commit()


def test_statements_per_page_do_not_depend_on_the_page_size(admin):
    add_rows(admin, 0, 110)
    add_log_rows(admin, 110)
    client = client_for(admin)
    for url in LISTS:
        cost = {}
        for size in (20, 100):
            assert client.get(f"{url}?per_page={size}").status_code == 200, url  # warm
            with statements(admin) as seen:
                page = client.get(f"{url}?per_page={size}")
            assert page.status_code == 200, url
            cost[size] = len(seen)
        assert cost[20] == cost[100], (url, cost)
    # the page size is honoured: 100 customers' rows on one page, 20 on the other
    assert client.get("/admin/users/?per_page=100").text.count("@example.com</a>") >= 100
    assert client.get("/admin/users/?per_page=20").text.count("@example.com</a>") == 20


@pytest.mark.parametrize("url", LISTS)
@pytest.mark.parametrize("size", ["9", "201", "abc", "-20", "2e1", "%C2%B2"])
def test_a_bad_page_size_is_a_400_with_the_reason(admin, url, size):
    client = client_for(admin)
    page = client.get(f"{url}?per_page={size}")
    assert page.status_code == 400, url
    assert "per_page must be a whole number from 10 to 200" in page.text


# --- cursor paging of the store's lists (#20) --------------------------------------------------

SERVER_ROW = r'<tr data-server="(\d+)"'
USE_ROW = r'<td class="col-reference">\s*r(\d+)\s*</td>'


def suspend_every_third(app) -> list[int]:
    """Every third server suspended; their ids, newest first."""
    from builtin_plugins.store.models import Service

    with app.app_context():
        rows = list(db.session.scalars(db.select(Service).order_by(Service.id)))
        for row in rows[::3]:
            row.state = "suspended"
        db.session.commit()
        return sorted((row.id for row in rows[::3]), reverse=True)


def test_walking_the_store_lists_with_a_filter_gives_every_row_once_in_order(admin):
    from builtin_plugins.store.models import Service
    from kernel.accounts.models import User

    add_rows(admin, 0, 65)
    suspended = suspend_every_third(admin)
    client = client_for(admin)
    pages = walk_pages(client, "/admin/store/servers/?state=suspended&per_page=10", SERVER_ROW)
    assert [i for page in pages for i in page] == suspended and len(pages) == 3
    with admin.app_context():
        theirs = list(
            db.session.scalars(
                db.select(Service.id)
                .join(User, User.id == Service.user_id)
                .where(User.email.contains("row1"))
                .order_by(Service.id.desc())
            )
        )
    pages = walk_pages(client, "/admin/store/servers/?email=row1&per_page=10", SERVER_ROW)
    assert [i for page in pages for i in page] == theirs and len(theirs) == 11
    # back from the last page through "Newer"
    back = walk_pages(
        client,
        f"/admin/store/servers/?email=row1&per_page=10&before={theirs[9]}",
        SERVER_ROW,
        "prev",
    )
    assert [i for page in reversed(back) for i in page] == theirs
    uses = walk_pages(client, "/admin/store/voucher-uses/?per_page=10", USE_ROW)
    assert [n for page in uses for n in page] == list(range(64, -1, -1))


def test_a_later_page_costs_the_same_statements_at_20_and_at_100_rows(admin):
    add_rows(admin, 0, 210)  # two full pages of 100
    client = client_for(admin)
    for url, row in (
        ("/admin/store/servers/", SERVER_ROW),
        ("/admin/store/voucher-uses/", r'<td class="col-reference">\s*r(\d+)'),
    ):
        cost = {}
        for size in (20, 100):
            first = client.get(f"{url}?per_page={size}")
            cursor = re.findall(r'rel="next" href="[^"]*before=(\d+)', first.text)[0]
            with statements(admin) as seen:
                later = client.get(f"{url}?per_page={size}&before={cursor}")
            assert later.status_code == 200 and len(re.findall(row, later.text)) == size
            cost[size] = len(seen)
        assert cost[20] == cost[100], (url, cost)
        assert not any(re.search(r"OFFSET (?!0\b|\?)", s) for s in seen), url


@pytest.mark.parametrize("url", ["/admin/store/servers/", "/admin/store/voucher-uses/"])
@pytest.mark.parametrize(
    "cursor",
    ["before=abc", "before=-1", "before=0", "after=99999999999999999999", "before=1&after=2"],
)
def test_a_bad_cursor_is_a_400_with_the_reason_and_the_newest_page(admin, url, cursor):
    add_rows(admin, 0, 3)
    page = client_for(admin).get(f"{url}?{cursor}")
    assert page.status_code == 400, url
    assert "must be the id of a row" in page.text or "either before= or after=" in page.text
    assert "row2@example.com" in page.text  # the newest page, shown anyway


def test_a_forged_cursor_stays_inside_the_state_filter(admin):
    add_rows(admin, 0, 30)
    suspended = suspend_every_third(admin)
    client = client_for(admin)
    # any id as a cursor, even an active server's, only starts the page among suspended ones
    page = client.get(f"/admin/store/servers/?state=suspended&before={suspended[2] + 1}")
    assert page.status_code == 200
    assert [int(i) for i in re.findall(SERVER_ROW, page.text)] == suspended[2:]


def out_of_sync_rows(app) -> list[int]:
    """Every other server pending or stuck (shuffled next tries, some equal, some none), each
    with seven attempts; their ids in the page's order (stuck, next try, newest id)."""
    from datetime import datetime, timedelta

    from builtin_plugins.store.models import Service, SyncAttempt

    with app.app_context():
        rows = list(db.session.scalars(db.select(Service).order_by(Service.id)))[::2]
        for n, row in enumerate(rows):
            row.sync_status = "stuck" if n % 3 == 0 else "pending"
            row.sync_next_at = (
                None if n % 5 == 0 else datetime(2026, 1, 1) + timedelta(hours=(n * 7) % 11)
            )
            for k in range(7):
                db.session.add(SyncAttempt(service_id=row.id, outcome="failed", detail=f"a{k}"))
        db.session.commit()
        key = lambda s: (  # noqa: E731 - the page's order, spelled out once
            s.sync_status != "stuck",
            s.sync_next_at or datetime(1970, 1, 1),
            -s.id,
        )
        return [s.id for s in sorted(rows, key=key)]


def test_the_out_of_sync_page_pages_by_cursor_with_histories_in_one_query(admin):
    add_rows(admin, 0, 130)
    expected = out_of_sync_rows(admin)  # 65 servers
    client = client_for(admin)
    pages = walk_pages(client, "/admin/store/sync/?per_page=10", SERVER_ROW)
    assert [i for page in pages for i in page] == expected
    back = walk_pages(
        client, f"/admin/store/sync/?per_page=10&before={pages[-2][-1]}", SERVER_ROW, "prev"
    )
    assert [i for page in reversed(back) for i in page] == expected
    page = client.get("/admin/store/sync/?per_page=10").text
    assert page.count("failed: a6") == 10 and "failed: a1<" not in page  # 5 latest of each
    cost = {}
    for size in (20, 50):
        for cursor in ("", f"&before={expected[size - 1]}"):
            client.get(f"/admin/store/sync/?per_page={size}{cursor}")  # warm
            with statements(admin) as seen:
                shown = client.get(f"/admin/store/sync/?per_page={size}{cursor}")
            assert len(re.findall(SERVER_ROW, shown.text)) == min(size, 65 - bool(cursor) * size)
            cost[(size, bool(cursor))] = len(seen)
    assert cost[(20, False)] == cost[(50, False)] and cost[(20, True)] == cost[(50, True)], cost
    for bad in ("before=x", "per_page=5", "before=1&after=2", f"before={expected[0] + 1}"):
        refused = client.get(f"/admin/store/sync/?{bad}")
        assert refused.status_code == 400, bad
        assert f'data-server="{expected[0]}"' in refused.text
