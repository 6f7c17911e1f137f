"""Stripe plugin fixtures: the plugin enabled through the CLI (scanned against the fake OSV),
configured for the fake Stripe, and a live server receiving the fake's webhooks."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from flask import Flask, current_app

from kernel.extensions import db
from kernel.payments.models import Payment
from kernel.testing import build_app, login
from simulators.stripe import FakeStripe, stripe_server  # noqa: F401 - fixture
from tests.fakes.osv_server import osv_server  # noqa: F401 - fixture
from tests.helpers import PASSWORD, make_user, served

PLUGIN = "stripe_payments"
CUSTOMER = "card@example.com"


@pytest.fixture
def app(instance, plugins_dir, osv_server):  # noqa: F811 - the fixture above
    """Every app of these tests audits dependencies against the local OSV fake."""
    return build_app(instance, OSV_URL=osv_server.url)


def configure(app: Flask, **values) -> None:
    """Store plugin settings through the kernel (validated, secrets encrypted)."""
    from kernel.plugins.settings import set_settings

    with app.app_context():
        set_settings(current_app.extensions["pteroca"].discovered[PLUGIN].manifest, values)


def fake_settings(fake: FakeStripe) -> dict[str, str]:
    return {
        "secret_key": fake.secret_key,
        "webhook_secret": fake.webhook_secret,
        "api_base": fake.url,
    }


@pytest.fixture
def enabled(app, cli, fresh):
    """The app after ``pteroca plugin enable stripe_payments`` (scan included)."""
    result = cli("plugin", "enable", PLUGIN)
    assert result.exit_code == 0, result.output
    app = fresh(app)
    with app.app_context():
        make_user(CUSTOMER, name="Card Payer")
    return app


@pytest.fixture
def stripe_app(enabled, stripe_server):  # noqa: F811 - the fixture above
    configure(enabled, **fake_settings(stripe_server))
    return enabled


@pytest.fixture
def live(stripe_app, stripe_server):  # noqa: F811
    """Base URL of a real server for the app; the fake's webhooks go to it."""
    with served(stripe_app) as base:
        stripe_server.webhook_url = f"{base}/payments/stripe/webhook"
        yield base


@pytest.fixture
def customer(stripe_app, live):
    """A logged-in test client of the customer (webhooks reach the app over ``live``)."""
    client = stripe_app.test_client()
    login(client, CUSTOMER, PASSWORD)
    return client


@dataclass
class TopUp:
    payment_id: int
    session_id: str
    checkout_url: str


def start_topup(app: Flask, client, amount: str = "12.50") -> TopUp:
    """Post the wallet's top-up form choosing Stripe; the customer is sent to the fake."""
    response = client.post("/wallet/topup", data={"amount": amount, "provider": "stripe"})
    assert response.status_code == 303, response.text
    session_id = response.location.rsplit("/", 1)[1]
    with app.app_context():
        payment_id = db.session.scalar(
            db.select(Payment.id).where(
                Payment.provider == "stripe", Payment.external_id == session_id
            )
        )
    assert payment_id is not None
    return TopUp(payment_id, session_id, response.location)


def payment(app: Flask, payment_id: int) -> Payment:
    with app.app_context():
        row = db.session.get(Payment, payment_id)
        db.session.expunge(row)
        return row


def balance(app: Flask, email: str = CUSTOMER) -> int:
    """The customer's balance, after checking it equals the sum of their ledger."""
    from kernel.accounts.models import User
    from kernel.payments import ledger

    with app.app_context():
        user_id = db.session.scalar(db.select(User.id).where(User.email == email))
        assert ledger.balance(user_id) == ledger.ledger_sum(user_id)
        return ledger.balance(user_id)


def paid_topup(app: Flask, fake: FakeStripe, client, amount: str = "12.50") -> TopUp:
    """A top-up the customer paid at the fake (its webhook credited it)."""
    top = start_topup(app, client, amount)
    fake.pay(top.session_id)
    assert balance(app) == payment(app, top.payment_id).amount_credited
    return top
