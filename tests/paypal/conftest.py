"""The PayPal plugin enabled through the real gate, talking HTTP to simulators/paypal.py."""

from __future__ import annotations

from urllib.parse import urlsplit

import httpx
import pytest

from kernel.accounts.services import create_user
from simulators.paypal import FakePayPal
from tests.fakes.osv_server import osv_server  # noqa: F401 - fixture

ENV = "PTEROCA_PLUGIN_PAYPAL_PAYMENTS_"
EMAIL, PASSWORD = "payer@example.com", "payer-password-1"


@pytest.fixture
def paypal():
    with FakePayPal(
        client_id="cid-test", client_secret="csecret-test", webhook_id="WH-TEST-1"
    ) as server:
        yield server


@pytest.fixture
def paypal_env(paypal, monkeypatch):
    """Plugin settings given through the environment, pointing at the fake."""
    from builtin_plugins.paypal_payments.client import forget_tokens

    forget_tokens()
    for key, value in {
        "CLIENT_ID": paypal.client_id,
        "CLIENT_SECRET": paypal.client_secret,
        "WEBHOOK_ID": paypal.webhook_id,
        "BASE_URL": paypal.url,
    }.items():
        monkeypatch.setenv(ENV + key, value)
    yield paypal
    forget_tokens()


@pytest.fixture
def enabled(app, cli, osv_server, monkeypatch):  # noqa: F811 - fixture
    """paypal_payments enabled as an admin would: scanned (OSV fake), migrated, enabled."""
    monkeypatch.setenv("PTEROCA_OSV_URL", osv_server.url)  # every app built from here on
    app.config["OSV_URL"] = osv_server.url
    result = cli("plugin", "enable", "paypal_payments")
    assert result.exit_code == 0, result.output
    return app


@pytest.fixture
def paypal_app(enabled, paypal_env, fresh):
    app = fresh(enabled)
    with app.app_context():
        create_user(EMAIL, PASSWORD, name="Payer", verified=True)
    return app


def buyer_approves(checkout_url: str) -> str:
    """Open PayPal's approval page and press "Approve" over HTTP; the local return path."""
    page = httpx.get(checkout_url, timeout=5)
    assert page.status_code == 200 and ">Approve</button>" in page.text
    action = page.text.split("action='", 1)[1].split("'", 1)[0]
    answer = httpx.post(str(page.url.join(action)), timeout=5)
    assert answer.status_code == 302
    back = urlsplit(answer.headers["location"])
    return f"{back.path}?{back.query}"
