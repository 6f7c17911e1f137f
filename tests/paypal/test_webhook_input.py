"""The PayPal webhook's input edge: a body nested too deep or too large is a clear 4xx."""

from __future__ import annotations

import pytest

from kernel.testing import login
from tests.paypal.conftest import EMAIL, PASSWORD
from tests.paypal.test_webhooks import HOOK, approved_order, post, state


@pytest.mark.parametrize("depth", [40, 1_000, 100_000])  # 100,000 levels: 200 KB, under the cap
def test_deeply_nested_json_is_400_and_never_verified(paypal_app, paypal, depth):
    client = login(paypal_app, EMAIL, PASSWORD)
    payment, _ = approved_order(paypal_app, client)
    paypal.capture(payment.external_id)
    _body, headers = paypal.capture_completed(payment.external_id)
    nested = (
        b'{"event_type": "PAYMENT.CAPTURE.COMPLETED", "x": ' + b"[" * depth + b"]" * depth + b"}"
    )
    response = post(paypal_app, (nested, headers))
    assert response.status_code == 400
    assert "nested deeper than 32 levels" in response.get_json()["error"]
    assert paypal.verifications == []  # refused before PayPal is asked
    assert state(paypal_app, payment.id) == ("open", 0, 0)


def test_a_webhook_body_over_the_cap_is_413(paypal_app, paypal):
    response = paypal_app.test_client().post(
        HOOK, data=b"{" + b" " * (5 * 1024 * 1024) + b"}", content_type="application/json"
    )
    assert response.status_code == 413
    assert paypal.verifications == []
