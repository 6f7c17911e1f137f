"""hello_world's topup_adjustment: a top-up below the configured floor is refused, with why."""

from __future__ import annotations

from kernel.accounts.services import create_user
from kernel.extensions import db
from kernel.payments.models import Payment
from tests.helpers import write_plugin
from tests.payments.conftest import TESTPAY

PASSWORD = "correct horse battery"


def test_hook_topup_adjustment(app, plugins_dir, cli, fresh, monkeypatch):
    write_plugin(plugins_dir, "testpay", TESTPAY, capabilities=["payments"])
    assert cli("plugin", "enable", "testpay").exit_code == 0
    assert cli("plugin", "enable", "hello_world", "--accept-risk").exit_code == 0
    monkeypatch.setenv("PTEROCA_PLUGIN_HELLO_WORLD_MIN_TOPUP", "500")
    app = fresh(app)
    with app.app_context():
        create_user("cust@example.com", PASSWORD, name="Cus")
    client = app.test_client()
    logged_in = client.post("/login", data={"email": "cust@example.com", "password": PASSWORD})
    assert logged_in.status_code == 302
    refused = client.post("/wallet/topup", data={"amount": "4.99", "provider": "testpay"})
    assert refused.status_code == 400 and "refuses top-ups below 500 minor units" in refused.text
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(Payment.id))) == 0
    started = client.post("/wallet/topup", data={"amount": "5.00", "provider": "testpay"})
    assert started.status_code == 303
    with app.app_context():
        payment = db.session.scalar(db.select(Payment))
        assert payment.amount_charged == payment.amount_credited == 500
