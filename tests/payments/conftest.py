from __future__ import annotations

import pytest

from kernel.accounts.services import create_user
from tests.helpers import write_plugin

# A provider whose sessions live in a dict the test controls; webhooks are JSON lists of
# events signed with a shared word, so authenticity checks are exercised too.
TESTPAY = '''
import json
from kernel import hookimpl
from kernel.payments.providers import Checkout, SessionStatus, WebhookError, WebhookEvent

SESSIONS = {}
REFUNDS = []


class TestPay:
    identifier = "testpay"
    display_name = "Test Pay"
    currencies = ("USD", "EUR")

    def is_configured(self):
        return True

    def create_checkout(self, *, payment, success_url, cancel_url):
        external_id = f"ts_{payment.id}"
        SESSIONS[external_id] = {"status": "open", "amount": payment.amount_charged,
                                 "currency": payment.currency}
        return Checkout(external_id, f"https://pay.test/{external_id}")

    def session_status(self, external_id):
        s = SESSIONS[external_id]
        return SessionStatus(s["status"], s["amount"], s["currency"])

    def parse_webhook(self, *, body, headers):
        if headers.get("X-Sig") != "trusted":
            raise WebhookError("bad signature")
        try:
            items = json.loads(body)
        except ValueError:
            raise WebhookError("malformed body") from None
        return [WebhookEvent(**item) for item in items]

    def refund(self, *, payment, amount):
        REFUNDS.append(amount)
        return f"re_{len(REFUNDS)}"


@hookimpl
def register_payment_providers():
    return [TestPay()]
'''


@pytest.fixture
def testpay(app, plugins_dir, cli, fresh):
    write_plugin(plugins_dir, "testpay", TESTPAY, capabilities=["payments"])
    assert cli("plugin", "enable", "testpay").exit_code == 0
    import pteroca_plugins.testpay as module

    module.SESSIONS.clear()
    module.REFUNDS.clear()
    return module


@pytest.fixture
def pay_app(testpay, app, fresh):
    app = fresh(app)
    with app.app_context():
        create_user("payer@example.com", "payer-password-1", name="Payer")
    return app
