"""The admin overview's figures: top-ups AND wallet spending, new customers, from
kernel.payments.reports; money only for admin.payments holders."""

from __future__ import annotations

import json
import re

import pytest

from kernel.accounts.models import User
from kernel.clock import now as utcnow
from kernel.extensions import db
from kernel.payments import ledger, reports
from kernel.payments.models import Payment


@pytest.fixture
def app(pteroca_instance):
    return pteroca_instance.app


def _topup(user_id, amount, refunded=0):
    db.session.add(
        Payment(
            user_id=user_id,
            provider="test",
            status="paid",
            currency="EUR",
            amount_charged=amount,
            amount_credited=amount,
            amount_refunded=refunded,
            settled_at=utcnow(),
        )
    )
    ledger.credit(user_id, amount, "topup", f"topup:{user_id}:{amount}")


def _seed(app, make_user):
    buyer = make_user()
    make_user(role="support")  # staff: not a new customer
    with app.app_context():
        _topup(buyer.id, 2000, refunded=500)
        ledger.debit(buyer.id, 700, "purchase", "purchase:1")
        ledger.debit(buyer.id, 300, "renewal", "renewal:1")
        ledger.debit(buyer.id, 100, "adjustment", "adjust:1")  # staff correction: not spending
        db.session.commit()
    return buyer


def test_reports_count_topups_net_of_refunds_spending_and_new_customers(app, make_user):
    _seed(app, make_user)
    make_user()  # a second customer
    with app.app_context():
        figures = reports.overview(30)
    assert figures["totals"] == {"topups": 1500, "spending": 1000, "new_customers": 2}
    assert len(figures["labels"]) == 30 and figures["spending"][-1] == 1000
    assert figures["topups"][-1] == 1500 and figures["new_customers"][-1] == 2


def test_old_activity_is_outside_the_window(app, make_user):
    buyer = _seed(app, make_user)
    with app.app_context():
        user = db.session.get(User, buyer.id)
        user.created_at = utcnow().replace(year=2000)
        db.session.commit()
        assert reports.overview(30)["totals"]["new_customers"] == 0


def test_overview_shows_money_and_customers_with_chart_data(app, make_user, login_as):
    _seed(app, make_user)
    admin = login_as("admin")
    page = admin.get("/admin/").get_data(as_text=True)
    assert re.search(r'id="figure-topups">15\.00', page)
    assert re.search(r'id="figure-spending">10\.00', page)
    assert 'id="figure-new-customers">1<' in page and 'id="money-chart"' in page
    data = json.loads(re.search(r'id="overview-data">(.*?)</script>', page).group(1))
    assert data["topups"][-1] == 1500 and data["spending"][-1] == 1000 and data["scale"] == 100


def test_support_sees_customers_but_no_money(app, make_user, login_as):
    _seed(app, make_user)
    page = login_as("support").get("/admin/").get_data(as_text=True)
    assert 'id="figure-new-customers"' in page
    assert 'id="figure-topups"' not in page and 'id="money-chart"' not in page
    assert '"topups": null' in page or '"topups":null' in page
