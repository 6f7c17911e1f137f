"""Configuration: stored and environment settings, clear errors, disabling the plugin."""

from __future__ import annotations

import json

from kernel.extensions import db
from kernel.payments.models import Payment
from kernel.testing import login
from simulators.stripe import StripeFakeError, sign
from tests.fakes.osv_server import unreachable_url
from tests.helpers import PASSWORD
from tests.stripe.conftest import CUSTOMER, balance, configure, payment, start_topup

ENV = "PTEROCA_PLUGIN_STRIPE_PAYMENTS_"


def payments(app) -> list[Payment]:
    with app.app_context():
        rows = list(db.session.scalars(db.select(Payment)))
        for row in rows:
            db.session.expunge(row)
        return rows


def test_not_offered_until_a_secret_key_is_set(enabled):
    client = enabled.test_client()
    login(client, CUSTOMER, PASSWORD)
    assert "Card (Stripe)" not in client.get("/wallet").text
    refused = client.post("/wallet/topup", data={"amount": "5", "provider": "stripe"})
    assert refused.status_code == 400 and "cannot take USD payments" in refused.text
    assert client.post("/payments/stripe/webhook", data=b"{}").status_code == 400


def test_webhooks_refused_without_a_signing_secret(stripe_app, stripe_server, customer):
    configure(stripe_app, webhook_secret="")
    session = stripe_server.mark_paid(start_topup(stripe_app, customer).session_id)
    refused = stripe_server.send(stripe_server.event("checkout.session.completed", session))
    assert refused.status == 400 and "no Stripe webhook signing secret" in refused.response
    assert balance(stripe_app) == 0


def test_wrong_secret_key_is_a_clear_error_on_the_top_up_page(stripe_app, stripe_server, customer):
    configure(stripe_app, secret_key="sk_test_not_the_right_key")
    response = customer.post("/wallet/topup", data={"amount": "12.50", "provider": "stripe"})
    assert response.status_code == 400
    assert (
        "Card (Stripe) is not available right now: the secret key was rejected by Stripe"
        in response.text
    )
    (row,) = payments(stripe_app)
    assert row.status == "failed" and row.external_id is None and balance(stripe_app) == 0
    assert stripe_server.sessions == {}


def test_unreachable_stripe_is_a_clear_error(stripe_app, customer):
    url = unreachable_url()
    configure(stripe_app, api_base=url)
    response = customer.post("/wallet/topup", data={"amount": "5", "provider": "stripe"})
    assert response.status_code == 400
    assert f"could not reach Stripe at {url} to create a Checkout Session" in response.text


def test_an_api_failure_is_a_clear_error(stripe_app, stripe_server, customer):
    outage = StripeFakeError(500, "Something went wrong on Stripe's end.", type_="api_error")
    stripe_server.fail(outage)  # one failure: the library's retry gets through
    retried = customer.post("/wallet/topup", data={"amount": "5", "provider": "stripe"})
    assert retried.status_code == 303
    stripe_server.fail(outage, times=2)
    response = customer.post("/wallet/topup", data={"amount": "5", "provider": "stripe"})
    assert response.status_code == 400
    assert "Stripe failed to create a Checkout Session: Something went wrong" in response.text


def test_unknown_payment_method_is_named(stripe_app, stripe_server, customer):
    configure(stripe_app, payment_methods="card, bitcoin")
    response = customer.post("/wallet/topup", data={"amount": "5", "provider": "stripe"})
    assert response.status_code == 400
    assert (
        "Stripe refused to create a Checkout Session: The payment method type provided: "
        "bitcoin is invalid. (parameter payment_method_types)"
    ) in response.text


def test_payment_methods_setting(stripe_app, stripe_server, customer):
    configure(stripe_app, payment_methods=" Card,blik , p24 ")
    start_topup(stripe_app, customer)
    assert stripe_server.requests[-1][2]["payment_method_types"] == ["card", "blik", "p24"]
    configure(stripe_app, payment_methods="")  # Stripe picks from the dashboard's settings
    start_topup(stripe_app, customer)
    assert "payment_method_types" not in stripe_server.requests[-1][2]
    configure(stripe_app, payment_methods="card; rm -rf")
    response = customer.post("/wallet/topup", data={"amount": "5", "provider": "stripe"})
    assert response.status_code == 400 and "is not a Stripe payment method type" in response.text


def test_environment_overrides_the_stored_settings(enabled, stripe_server, monkeypatch, fresh):
    configure(
        enabled,
        secret_key="sk_test_stored_but_wrong",
        webhook_secret="whsec_stored_wrong",
        api_base=unreachable_url(),
    )
    monkeypatch.setenv(ENV + "SECRET_KEY", stripe_server.secret_key)
    monkeypatch.setenv(ENV + "WEBHOOK_SECRET", stripe_server.webhook_secret)
    monkeypatch.setenv(ENV + "API_BASE", stripe_server.url)
    monkeypatch.setenv(ENV + "PAYMENT_METHODS", "card,link")
    app = fresh(enabled)
    client = app.test_client()
    login(client, CUSTOMER, PASSWORD)
    response = client.post("/wallet/topup", data={"amount": "4", "provider": "stripe"})
    assert response.status_code == 303 and response.location.startswith(stripe_server.url)
    assert stripe_server.requests[-1][2]["payment_method_types"] == ["card", "link"]
    session = stripe_server.mark_paid(response.location.rsplit("/", 1)[1])
    raw = json.dumps(stripe_server.event("checkout.session.completed", session)).encode()
    hook = client.post(
        "/payments/stripe/webhook",
        data=raw,
        headers={"Stripe-Signature": sign(raw, stripe_server.webhook_secret)},
    )
    assert hook.status_code == 200 and hook.get_json()["applied"] == 1
    assert balance(app) == 400


def test_disabling_removes_the_method_and_the_webhook_but_keeps_history(
    stripe_app, stripe_server, customer, cli, fresh
):
    top = start_topup(stripe_app, customer, "12.50")
    stripe_server.pay(top.session_id)
    assert balance(stripe_app) == 1250
    result = cli("plugin", "disable", "stripe_payments")
    assert result.exit_code == 0, result.output
    app = fresh(stripe_app)
    client = app.test_client()
    login(client, CUSTOMER, PASSWORD)
    wallet = client.get("/wallet")
    assert "Card (Stripe)" not in wallet.text
    assert f"<td>{top.payment_id}</td>" in wallet.text and "stripe" in wallet.text
    assert "12.50 USD" in wallet.text
    assert stripe_server.replay()[0].status == 404  # the live server follows the generation
    assert client.post("/payments/stripe/webhook", data=b"{}").status_code == 404
    row = payment(app, top.payment_id)
    assert row.status == "paid" and balance(app) == 1250
