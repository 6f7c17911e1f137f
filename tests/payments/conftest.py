from __future__ import annotations

import pytest

from kernel.accounts.services import create_user
from tests.helpers import write_plugin

# A provider whose sessions live in a dict the test controls; webhooks are JSON lists of
# events signed with a shared word, so authenticity checks are exercised too.
TESTPAY = """
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
"""


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


# A provider whose webhooks are answered at once and applied by a job (accept_webhook +
# webhook_events). A delivery is JSON: {"id", "type"?, "events": [...], "forged"?}; the
# header X-Sig "trusted" is verified on arrival, "later" only in the job.
QUEUEDPAY = """
import json
from datetime import datetime
from kernel import hookimpl
from kernel.payments.providers import (Checkout, ProviderError, SessionStatus, WebhookError,
                                       WebhookEvent, WebhookReceipt)

SESSIONS = {}
CALLS = []
DOWN = []
EXPIRES = []


class QueuedPay:
    identifier = "queuedpay"
    display_name = "Queued Pay"
    currencies = ("USD",)

    def is_configured(self):
        return True

    def create_checkout(self, *, payment, success_url, cancel_url):
        if DOWN:
            raise ProviderError("queuedpay is down")
        external_id = f"qp_{payment.id}"
        SESSIONS[external_id] = {"status": "open", "amount": payment.amount_charged,
                                 "currency": payment.currency, "reason": ""}
        return Checkout(external_id, f"https://queued.test/{external_id}",
                        expires_at=EXPIRES[0] if EXPIRES else None)

    def session_status(self, external_id):
        if DOWN:
            raise ProviderError("queuedpay is down")
        s = SESSIONS[external_id]
        return SessionStatus(s["status"], s["amount"], s["currency"], s["reason"])

    def parse_webhook(self, *, body, headers):
        raise WebhookError("queuedpay webhooks go through accept_webhook")

    def accept_webhook(self, *, body, headers):
        sig = headers.get("X-Sig")
        if sig not in ("trusted", "later"):
            raise WebhookError("bad signature")
        try:
            data = json.loads(body)
        except ValueError:
            raise WebhookError("not JSON") from None
        if data.get("type") == "ignored":
            return None
        return WebhookReceipt(data["id"], data.get("type", "payment"), verified=sig == "trusted",
                              headers={"x-sig": sig})

    def webhook_events(self, *, body, headers, receipt):
        CALLS.append(receipt.event_id)
        if DOWN:
            raise ProviderError("queuedpay is down")
        data = json.loads(body)
        if data.get("forged"):
            raise WebhookError("queuedpay never sent this")
        return [WebhookEvent(**e) for e in data["events"]]


@hookimpl
def register_payment_providers():
    return [QueuedPay()]
"""


@pytest.fixture
def queuedpay(app, plugins_dir, cli, fresh):
    write_plugin(plugins_dir, "queuedpay", QUEUEDPAY, capabilities=["payments"])
    assert cli("plugin", "enable", "queuedpay").exit_code == 0
    import pteroca_plugins.queuedpay as module

    for store in (module.SESSIONS, module.CALLS, module.DOWN, module.EXPIRES):
        store.clear()
    return module


@pytest.fixture
def queued_app(queuedpay, app, fresh):
    app = fresh(app)
    with app.app_context():
        create_user("payer@example.com", "payer-password-1", name="Payer")
    return app
