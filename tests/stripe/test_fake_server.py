"""The Stripe fake speaks Stripe's wire format (so the plugin's tests mean something)."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import stripe

from simulators.stripe import decode_form, sign


def client_for(fake) -> stripe.StripeClient:
    return stripe.StripeClient(fake.secret_key, base_addresses={"api": fake.url})


def test_bracket_notation_is_decoded_like_stripe_does():
    pairs = [
        ("line_items[0][price_data][currency]", "usd"),
        ("line_items[0][quantity]", "1"),
        ("line_items[1][quantity]", "2"),
        ("metadata[payment_id]", "7"),
        ("payment_method_types[0]", "card"),
        ("payment_method_types[1]", "blik"),
        ("mode", "payment"),
    ]
    assert decode_form(pairs) == {
        "line_items": [{"price_data": {"currency": "usd"}, "quantity": "1"}, {"quantity": "2"}],
        "metadata": {"payment_id": "7"},
        "payment_method_types": ["card", "blik"],
        "mode": "payment",
    }


def test_signatures_verify_with_the_official_library():
    body = json.dumps({"id": "evt_1", "object": "event", "type": "ping", "data": {"object": {}}})
    event = stripe.Webhook.construct_event(body, sign(body.encode(), "whsec_x"), "whsec_x")
    assert event["id"] == "evt_1"
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(body, sign(body.encode(), "whsec_y"), "whsec_x")


def test_the_library_talks_to_the_fake(stripe_server):
    client = client_for(stripe_server)
    session = client.v1.checkout.sessions.create(
        params={
            "mode": "payment",
            "success_url": "http://shop.test/ok",
            "client_reference_id": "9",
            "line_items": [
                {
                    "quantity": 1,
                    "price_data": {
                        "currency": "eur",
                        "unit_amount": 999,
                        "product_data": {"name": "Thing"},
                    },
                }
            ],
        }
    )
    assert (session.amount_total, session.currency, session.status) == (999, "eur", "open")
    assert client.v1.checkout.sessions.retrieve(session.id).payment_status == "unpaid"
    stripe_server.mark_paid(session.id)
    intent = client.v1.checkout.sessions.retrieve(session.id).payment_intent
    found = client.v1.checkout.sessions.list(params={"payment_intent": intent})
    assert [s.id for s in found.data] == [session.id]
    refund = client.v1.refunds.create(params={"payment_intent": intent, "amount": 400})
    assert (refund.amount, refund.status) == (400, "succeeded")
    listed = client.v1.refunds.list(params={"charge": refund.charge})
    assert [r.id for r in listed.data] == [refund.id]
    with pytest.raises(stripe.InvalidRequestError, match="greater than unrefunded amount"):
        client.v1.refunds.create(params={"payment_intent": intent, "amount": 600})
    with pytest.raises(stripe.InvalidRequestError, match="No such checkout.session"):
        client.v1.checkout.sessions.retrieve("cs_test_missing")


def test_wrong_key_is_a_stripe_shaped_401(stripe_server):
    request = urllib.request.Request(
        f"{stripe_server.url}/v1/checkout/sessions/cs_x",
        headers={"Authorization": "Bearer sk_test_wrong_key_1234"},
    )
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request, timeout=5)  # noqa: S310 - a local test server
    assert caught.value.code == 401
    error = json.loads(caught.value.read())["error"]
    assert error["type"] == "invalid_request_error" and "Invalid API Key" in error["message"]
    assert "wrong_key" not in error["message"]
    client = stripe.StripeClient("sk_test_wrong", base_addresses={"api": stripe_server.url})
    with pytest.raises(stripe.AuthenticationError):
        client.v1.checkout.sessions.retrieve("cs_x")


def test_hosted_page_pays_signs_the_webhook_and_redirects(stripe_server):
    client = client_for(stripe_server)
    session = client.v1.checkout.sessions.create(
        params={
            "mode": "payment",
            "success_url": "http://shop.test/ok?s={CHECKOUT_SESSION_ID}",
            "cancel_url": "http://shop.test/no",
            "line_items": [
                {
                    "quantity": 1,
                    "price_data": {
                        "currency": "usd",
                        "unit_amount": 1250,
                        "product_data": {"name": "Wallet top-up"},
                    },
                }
            ],
        }
    )
    page = urllib.request.urlopen(session.url, timeout=5).read().decode()  # noqa: S310
    assert "12.50 USD" in page and ">Pay</button>" in page and "<script" not in page

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    received = []

    class Receiver(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_POST(self):  # noqa: N802
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append(
                stripe.Webhook.construct_event(
                    body, self.headers["Stripe-Signature"], stripe_server.webhook_secret
                )
            )
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

    receiver = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    try:
        stripe_server.webhook_url = f"http://127.0.0.1:{receiver.server_port}/hook"
        opener = urllib.request.build_opener(NoRedirect)
        with pytest.raises(urllib.error.HTTPError) as caught:
            opener.open(urllib.request.Request(session.url, data=b"", method="POST"), timeout=5)
    finally:
        receiver.shutdown()
        receiver.server_close()
    assert caught.value.code == 303
    assert caught.value.headers["Location"] == f"http://shop.test/ok?s={session.id}"
    (event,) = received
    assert event.type == "checkout.session.completed"
    assert event.data.object.payment_status == "paid" and event.data.object.id == session.id
