"""The top-up form takes one documented amount format and says so when it gets another."""

from __future__ import annotations

import pytest

from kernel.extensions import db
from kernel.payments.models import Payment
from kernel.testing import login
from tests.admin.conftest import PASSWORD, users  # noqa: F401 - users is a fixture


@pytest.mark.parametrize("amount", ["1e3", "1_000", "１０", "10.999", "+10", "1,000.00", "0x10"])
def test_top_up_amounts_in_another_format_are_refused(app, users, amount):  # noqa: F811
    client = app.test_client()
    login(client, users["customer"], PASSWORD)
    response = client.post("/wallet/topup", data={"amount": amount, "provider": "none"})
    assert response.status_code == 400
    page = response.text.replace("&#39;", "'")
    assert (
        "is not an amount: write digits with at most one decimal point or comma" in page
        or "amounts have at most 2 decimal places" in page
    )
    assert f'value="{amount}"' in response.text  # what was typed stays in the form
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(Payment.id))) == 0


def test_a_well_formed_amount_goes_on_to_the_provider_choice(app, users):  # noqa: F811
    client = app.test_client()
    login(client, users["customer"], PASSWORD)
    response = client.post("/wallet/topup", data={"amount": "10,50", "provider": "none"})
    assert response.status_code == 400
    assert "is not an amount" not in response.text  # refused later: no such provider
