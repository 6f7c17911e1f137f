"""A customer who owes money (a chargeback their wallet could not cover) cannot buy or renew
until a top-up settles it; the store says why."""

from __future__ import annotations

import re

from kernel.extensions import db
from kernel.payments import debts, ledger
from kernel.testing import login
from tests.store.test_views import plan_id, shop, token_of  # noqa: F401 - fixture


def owe(app, amount: int) -> None:
    with app.app_context():
        result = debts.take_or_owe(
            1,
            amount,
            "chargeback",
            f"cb-{amount}",
            reason="payment #7 disputed at Stripe (fraudulent)",
        )
        db.session.commit()
        debts.announce(result)


def test_purchases_and_renewals_are_refused_while_the_customer_owes(shop):  # noqa: F811
    client = login(shop, "buyer@example.com")
    token = token_of(client.get("/store/product/mc-small/checkout"))
    bought = client.post(
        "/store/product/mc-small/checkout",
        data={"token": token, "plan": plan_id(shop), "name": "first"},
    )
    assert bought.status_code == 303
    owe(shop, 5000)  # 40.00 left in the wallet: 10.00 owed
    with shop.app_context():
        assert ledger.balance(1) == 0 and debts.outstanding(1) == 1000

    token = token_of(client.get("/store/product/mc-small/checkout"))
    refused = client.post(
        "/store/product/mc-small/checkout",
        data={"token": token, "plan": plan_id(shop), "name": "second"},
    )
    assert refused.status_code == 400
    assert "your account owes 10.00 USD" in refused.text and "top up your wallet" in refused.text
    renew = client.get(bought.location + "/renew")
    expires = re.search(r'name="expires" value="([^"]+)"', renew.text).group(1)
    no = client.post(bought.location + "/renew", data={"expires": expires, "action": "pay"})
    assert no.status_code == 400 and "your account owes 10.00 USD" in no.text

    with shop.app_context():
        ledger.credit(1, 3000, "topup", "payment:99")  # the next top-up pays the debt first
        assert ledger.balance(1) == 2000 and debts.outstanding(1) == 0
    token = token_of(client.get("/store/product/mc-small/checkout"))
    again = client.post(
        "/store/product/mc-small/checkout",
        data={"token": token, "plan": plan_id(shop), "name": "second"},
    )
    assert again.status_code == 303
    with shop.app_context():
        assert ledger.balance(1) == 1000
