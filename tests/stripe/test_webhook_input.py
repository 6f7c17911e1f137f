"""The Stripe webhook's input edge: a signature stamped in the future is refused, like a
stale one."""

from __future__ import annotations

import json
import time

import pytest

from simulators.stripe import sign
from tests.stripe.conftest import balance, payment, start_topup

HOOK = "/payments/stripe/webhook"


@pytest.mark.parametrize("ahead", [301, 3600, 10 * 365 * 24 * 3600])
def test_a_signature_from_the_future_is_refused(stripe_app, stripe_server, customer, ahead):
    top = start_topup(stripe_app, customer)
    session = stripe_server.mark_paid(top.session_id)
    body = json.dumps(stripe_server.event("checkout.session.completed", session)).encode()
    stamp = int(time.time()) + ahead
    response = stripe_app.test_client().post(
        HOOK,
        data=body,
        headers={
            "Stripe-Signature": sign(body, stripe_server.webhook_secret, stamp),
            "Content-Type": "application/json",
        },
    )
    assert response.status_code == 400
    assert "in the future" in response.get_json()["error"]
    assert payment(stripe_app, top.payment_id).status == "open" and balance(stripe_app) == 0


def test_a_signature_within_the_tolerance_is_accepted(stripe_app, stripe_server, customer):
    top = start_topup(stripe_app, customer)
    session = stripe_server.mark_paid(top.session_id)
    body = json.dumps(stripe_server.event("checkout.session.completed", session)).encode()
    response = stripe_app.test_client().post(
        HOOK,
        data=body,
        headers={
            "Stripe-Signature": sign(body, stripe_server.webhook_secret, int(time.time()) + 60),
            "Content-Type": "application/json",
        },
    )
    assert response.status_code == 200
    assert balance(stripe_app) == 1250


def test_a_malformed_timestamp_is_refused(stripe_app, stripe_server):
    response = stripe_app.test_client().post(
        HOOK, data=b"{}", headers={"Stripe-Signature": "t=soon,v1=abc"}
    )
    assert response.status_code == 400 and "not a number" in response.get_json()["error"]
