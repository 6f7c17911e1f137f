"""Admin lists cost the same number of SQL statements whatever the number of rows on the page:
the accounts (and products) of a page's rows come in one query, never one per row."""

from __future__ import annotations

import pytest

from kernel.accounts.services import create_user
from kernel.extensions import db
from kernel.testing import statements
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
