"""Wallet endpoints with a payment provider: top-up start, settlement (payment.settled
webhook), the ledger's cursor pages, payments, an admin refund."""

from __future__ import annotations

import json

import pytest

from tests.api.conftest import bearer
from tests.api.test_webhooks import Receiver, reference_verify


class PayProvider:
    identifier = "apipay"
    display_name = "API Pay"
    currencies = ("USD", "EUR")

    def __init__(self):
        self.sessions, self.refunds = {}, []

    def is_configured(self):
        return True

    def create_checkout(self, *, payment, success_url, cancel_url):
        from kernel import Checkout

        external_id = f"ap_{payment.id}"
        self.sessions[external_id] = ("open", payment.amount_charged, payment.currency)
        return Checkout(external_id, f"https://pay.example/{external_id}")

    def session_status(self, external_id):
        from kernel import SessionStatus

        return SessionStatus(*self.sessions[external_id])

    def parse_webhook(self, *, body, headers):
        return []

    def refund(self, *, payment, amount):
        self.refunds.append(amount)
        return f"re_{len(self.refunds)}"


@pytest.fixture
def provider(register_test_plugin):
    from kernel import hookimpl

    made = PayProvider()

    class Plugin:
        @hookimpl
        def register_payment_providers(self):
            return [made]

    register_test_plugin(Plugin(), "apipay_plugin")
    return made


def test_top_up_settle_page_and_refund(pteroca_instance, client, provider, make_user, make_token):
    from kernel.extensions import db
    from kernel.payments.settlement import settle

    receiver = Receiver()
    try:
        admin = make_user(role="admin")
        admin_token = make_token(admin, ["admin:webhooks", "admin:payments"])
        hook = client.post(
            "/api/v1/admin/webhooks",
            json={"url": receiver.url, "events": ["payment.settled"], "allow_private": True},
            headers=bearer(admin_token),
        ).json
        customer = make_user()
        secret = make_token(customer, ["write:wallet", "read:wallet"])
        started = client.post(
            "/api/v1/wallet/topups",
            json={"amount": 1500, "provider": "apipay"},
            headers=bearer(secret),
        )
        assert started.status_code == 201, started.json
        assert started.json["checkout_url"].startswith("https://pay.example/ap_")
        external = started.json["checkout_url"].rsplit("/", 1)[1]
        provider.sessions[external] = ("paid", 1500, provider.sessions[external][2])
        with pteroca_instance.app.app_context():
            settle("apipay", external, provider.session_status(external), source="test")
            db.session.remove()
        assert client.get("/api/v1/wallet", headers=bearer(secret)).json["balance"] == 1500
        headers, body = receiver.requests[0]
        assert reference_verify(hook["secret"], body, headers["Pteroca-Signature"])
        assert json.loads(body)["data"]["payment"]["amount_credited"] == 1500
        unknown = client.post(
            "/api/v1/wallet/topups",
            json={"amount": 100, "provider": "nope"},
            headers=bearer(secret),
        )
        assert unknown.status_code == 422
        payment_id = started.json["payment"]["id"]
        paid = client.get("/api/v1/payments", headers=bearer(secret)).json["items"]
        assert [p["status"] for p in paid] == ["paid"]
        too_much = client.post(
            f"/api/v1/admin/payments/{payment_id}/refund",
            json={"amount": 99999},
            headers=bearer(admin_token),
        )
        assert too_much.status_code == 422
        refunded = client.post(
            f"/api/v1/admin/payments/{payment_id}/refund",
            json={"amount": 500},
            headers=bearer(admin_token),
        )
        assert refunded.status_code == 200 and refunded.json["amount_refunded"] == 500
        assert provider.refunds == [500]
        assert client.get("/api/v1/wallet", headers=bearer(secret)).json["balance"] == 1000
    finally:
        receiver.close()


def test_the_ledger_pages_with_a_cursor(pteroca_instance, client, make_user, make_token, fund):
    user = make_user()
    for amount in range(1, 8):
        fund(user, amount)
    secret = make_token(user, ["read:wallet"])
    seen, cursor = [], None
    while True:
        query = "?limit=3" + (f"&cursor={cursor}" if cursor else "")
        page = client.get(f"/api/v1/wallet/ledger{query}", headers=bearer(secret)).json
        seen += [entry["amount"] for entry in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [7, 6, 5, 4, 3, 2, 1]
    for bad in ("abc", "-1", "99999999999999999999999"):
        response = client.get(f"/api/v1/wallet/ledger?cursor={bad}", headers=bearer(secret))
        assert response.status_code == 400 and "cursor" in response.json["errors"]
    other = make_token(make_user(), ["read:wallet"])
    assert client.get("/api/v1/wallet/ledger", headers=bearer(other)).json["items"] == []
