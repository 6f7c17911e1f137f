"""Vouchers on the wallet page: balance vouchers are redeemed, top-up discounts lower the charge."""

from __future__ import annotations

import pytest

from kernel.extensions import db
from kernel.payments import ledger
from kernel.payments.models import Payment
from kernel.payments.providers import PAID, SessionStatus
from kernel.payments.settlement import settle
from kernel.testing import login, make_customer, run_cli
from tests.helpers import write_plugin
from tests.payments.conftest import TESTPAY


def store_models():
    """The store's models as loaded now: the plugin loader may import the package afresh, so
    a class imported once at module level can be stale."""
    from builtin_plugins.store import models

    return models


@pytest.fixture
def wallet_app(store_app):
    from kernel.testing import rebuild

    write_plugin(store_app.config["PLUGINS_DIR"], "testpay", TESTPAY, capabilities=["payments"])
    result = run_cli(store_app, "plugin", "enable", "testpay")
    assert result.exit_code == 0, result.output
    app = rebuild(store_app)
    with app.app_context():
        make_customer()
        db.session.add_all(
            [
                store_models().Voucher(code="GIFT5", kind="balance", value=500),
                store_models().Voucher(
                    code="TOPUP20", kind="topup_discount", value=20, min_amount=1000
                ),
            ]
        )
        db.session.commit()
    return app


def test_redeem_a_balance_voucher_from_the_wallet_page(wallet_app):
    client = login(wallet_app, "buyer@example.com")
    wallet = client.get("/wallet")
    assert "Redeem a voucher" in wallet.text and 'action="/store/redeem"' in wallet.text
    done = client.post("/store/redeem", data={"code": "gift5"})
    assert done.status_code == 303 and done.location.endswith("/wallet")
    assert "5.00 USD was added to your balance" in client.get("/wallet").text
    again = client.post("/store/redeem", data={"code": "GIFT5"})
    assert again.status_code == 400 and "you have already used the code" in again.text
    wrong_kind = client.post("/store/redeem", data={"code": "TOPUP20"})
    assert wrong_kind.status_code == 400 and "cannot be used here" in wrong_kind.text
    with wallet_app.app_context():
        assert ledger.balance(1) == 500 == ledger.ledger_sum(1)


def test_top_up_discount_lowers_the_charge_and_counts_when_paid(wallet_app):
    client = login(wallet_app, "buyer@example.com")
    assert 'name="voucher"' in client.get("/wallet").text  # the store's field in the top-up form
    too_small = client.post(
        "/wallet/topup", data={"amount": "5.00", "provider": "testpay", "voucher": "TOPUP20"}
    )
    assert too_small.status_code == 400
    assert "needs an amount of at least 10.00 USD" in too_small.text
    started = client.post(
        "/wallet/topup", data={"amount": "20.00", "provider": "testpay", "voucher": "topup20"}
    )
    assert started.status_code == 303
    with wallet_app.app_context():
        payment = db.session.scalar(db.select(Payment))
        assert (payment.amount_charged, payment.amount_credited) == (1600, 2000)
        Voucher = store_models().Voucher
        assert db.session.scalar(db.select(Voucher).where(Voucher.code == "TOPUP20")).uses == 0
        settle("testpay", payment.external_id, SessionStatus(PAID, 1600, "USD"), source="test")
        assert ledger.balance(1) == 2000
        usage = db.session.scalar(db.select(store_models().VoucherUsage))
        assert usage.reference == f"payment:{payment.id}" and usage.amount == 400
    used = client.post(
        "/wallet/topup", data={"amount": "20.00", "provider": "testpay", "voucher": "TOPUP20"}
    )
    assert used.status_code == 400 and "you have already used the code" in used.text
    plain = client.post("/wallet/topup", data={"amount": "20.00", "provider": "testpay"})
    assert plain.status_code == 303
