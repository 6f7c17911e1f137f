"""A local PayPal REST API for tests and demos: real HTTP on 127.0.0.1, never the network.

Shaped like PayPal's for what the paypal_payments plugin calls: OAuth2 client-credentials
tokens, Orders v2 (create, get, capture with ``PayPal-Request-Id`` idempotency), captures
and their refunds, webhook signature verification, PayPal's error objects, and a buyer
approval page ``GET /checkoutnow?token=ORDER`` whose "Approve" button marks the order
APPROVED and redirects to the return URL with ``token`` and ``PayerID`` as PayPal does.

Test controls (Python): :meth:`FakePayPal.approve`, :meth:`decline_next_capture`,
:meth:`refund` (a refund made in PayPal's dashboard), :meth:`reverse` (a chargeback),
:meth:`webhook` (a signed, or deliberately unverifiable, event: body and headers),
:meth:`deliver` (POST it to a URL), :meth:`revoke_tokens`; ``delay`` (seconds every API
call waits) and ``lose_answers`` (the next N calls are carried out but their answer is
lost, as when a connection drops). ``requests`` records ``(method, path)`` of every API call.

``PayPal-Request-Id`` works as PayPal's does: a POST repeated with the same id gets the
first answer again (the same order, the same capture) and changes nothing.

    with FakePayPal(client_id="id", client_secret="secret", webhook_id="WH-1") as paypal:
        settings base_url = paypal.url
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import itertools
import json
import secrets
import threading
import time
import urllib.error
import urllib.request
import zlib
from base64 import b64decode
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from html import escape
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from simulators.served import ServedFake

ZERO_DECIMAL = {"JPY", "HUF", "TWD"}
CERT_URL = "https://api.paypal.com/v1/notifications/certs/CERT-360caa42-fca2a594-fake"


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def error(name: str, message: str, issue: str = "", description: str = "") -> dict[str, Any]:
    """PayPal's REST error object."""
    body: dict[str, Any] = {
        "name": name,
        "message": message,
        "debug_id": secrets.token_hex(6),
        "links": [
            {
                "href": f"https://developer.paypal.com/api/rest/reference/"
                f"orders/v2/errors/#{issue or name}",
                "rel": "information_link",
                "method": "GET",
            }
        ],
    }
    if issue:
        body["details"] = [{"issue": issue, "description": description or message}]
    return body


NOT_FOUND = (
    "RESOURCE_NOT_FOUND",
    "The specified resource does not exist.",
    "INVALID_RESOURCE_ID",
    "Specified resource ID does not exist. Please check the resource ID and try again.",
)
UNPROCESSABLE = (
    "The requested action could not be performed, semantically incorrect, or failed "
    "business validation."
)


class ApiError(Exception):
    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(body.get("name"))
        self.status, self.body = status, body


class FakePayPal(ServedFake):
    thread_name = "fake-paypal"

    def __init__(
        self,
        *,
        client_id: str = "fake-client-id",
        client_secret: str = "fake-client-secret",
        webhook_id: str = "WH-FAKE-0001",
        token_lifetime: int = 32400,
    ) -> None:
        self.client_id, self.client_secret, self.webhook_id = client_id, client_secret, webhook_id
        self.token_lifetime = token_lifetime
        self.orders: dict[str, dict[str, Any]] = {}
        self.captures: dict[str, str] = {}  # capture id -> order id
        self.refunds: dict[str, dict[str, Any]] = {}
        self.reversals: dict[str, dict[str, Any]] = {}
        self.delay = 0.0  # seconds every API call waits before it is answered (a slow PayPal)
        self.lose_answers = 0  # the next N API calls are carried out, their answer is lost
        self.tokens: set[str] = set()
        self.token_requests = 0
        self.requests: list[tuple[str, str]] = []
        self.verifications: list[dict[str, Any]] = []
        self._decline: str | None = None
        self._idempotent: dict[tuple[str, str], tuple[int, dict[str, Any]]] = {}
        self._signing_key = secrets.token_bytes(32)
        self._ids = itertools.count(1)
        self._lock = threading.RLock()
        self._serve(_handler(self))

    # -- lifecycle ----------------------------------------------------------------------------

    # -- test controls ------------------------------------------------------------------------
    def _new_id(self, prefix: str) -> str:
        return f"{prefix}{next(self._ids):04d}{secrets.token_hex(6).upper()}"

    def approve(self, order_id: str) -> str:
        """The buyer approves the order at PayPal; returns the redirect to the return URL."""
        with self._lock:
            order = self.orders[order_id]
            if order["status"] not in ("CREATED", "PAYER_ACTION_REQUIRED", "APPROVED"):
                raise ValueError(f"order {order_id} is {order['status']}")
            order["status"] = "APPROVED"
            order["payer"] = {
                "payer_id": "FAKEPAYER123",
                "email_address": "buyer@example.com",
                "name": {"given_name": "Test", "surname": "Buyer"},
            }
            order["update_time"] = _now()
            return_url = order["_return_url"]
        sep = "&" if "?" in return_url else "?"
        return return_url + sep + urlencode({"token": order_id, "PayerID": "FAKEPAYER123"})

    def void(self, order_id: str) -> None:
        with self._lock:
            self.orders[order_id]["status"] = "VOIDED"

    def decline_next_capture(self, how: str = "instrument") -> None:
        """``instrument``: 422 INSTRUMENT_DECLINED; ``capture``: a capture with status DECLINED."""
        assert how in ("instrument", "capture")
        self._decline = how

    def revoke_tokens(self) -> None:
        with self._lock:
            self.tokens.clear()

    def order(self, order_id: str) -> dict[str, Any]:
        with self._lock:
            return self._public(self.orders[order_id])

    def capture_of(self, order_id: str) -> dict[str, Any]:
        return self.order(order_id)["purchase_units"][0]["payments"]["captures"][0]

    def refund(self, order_id: str, value: str | None = None) -> dict[str, Any]:
        """Refund (part of) an order's capture as if from PayPal's dashboard; the refund object."""
        capture_id = self.capture_of(order_id)["id"]
        status, body = self._refund_capture(capture_id, {"amount": value} if value else {}, None)
        if status >= 400:
            raise ValueError(body)
        return body

    def reverse(
        self, order_id: str, value: str | None = None, reason: str = "Payment reversed"
    ) -> dict[str, Any]:
        """A chargeback: PayPal takes (part of) the captured money back; the reversal object
        (refund-shaped, as PayPal's ``PAYMENT.CAPTURE.REVERSED`` resource is)."""
        capture = self.capture_of(order_id)
        with self._lock:
            amount = {
                "currency_code": capture["amount"]["currency_code"],
                "value": value or capture["amount"]["value"],
            }
            reversal_id = self._new_id("9R")
            reversal = {
                "id": reversal_id,
                "status": "COMPLETED",
                "amount": amount,
                "note_to_payer": reason,
                "create_time": _now(),
                "update_time": _now(),
                "seller_payable_breakdown": {
                    "gross_amount": {**amount, "value": "-" + amount["value"]},
                    "net_amount": {**amount, "value": "-" + amount["value"]},
                },
                "links": [
                    {
                        "href": f"{self.url}/v2/payments/refunds/{reversal_id}",
                        "rel": "self",
                        "method": "GET",
                    },
                    {
                        "href": f"{self.url}/v2/payments/captures/{capture['id']}",
                        "rel": "up",
                        "method": "GET",
                    },
                ],
            }
            self.reversals[reversal_id] = reversal
            return copy.deepcopy(reversal)

    # -- webhooks -----------------------------------------------------------------------------
    def _signature(self, transmission_id: str, when: str, webhook_id: str, event: Any) -> str:
        canonical = json.dumps(event, sort_keys=True, separators=(",", ":")).encode()
        message = f"{transmission_id}|{when}|{webhook_id}|{zlib.crc32(canonical)}".encode()
        return hmac.new(self._signing_key, message, hashlib.sha256).hexdigest()

    def webhook(
        self, event_type: str, resource: dict[str, Any], *, verifiable: bool = True
    ) -> tuple[bytes, dict[str, str]]:
        """A webhook delivery: (body, headers) as PayPal would POST them."""
        event = {
            "id": self._new_id("WH-"),
            "event_version": "1.0",
            "create_time": _now(),
            "resource_type": event_type.split(".")[1].lower(),
            "resource_version": "2.0",
            "event_type": event_type,
            "summary": f"fake {event_type}",
            "resource": resource,
            "links": [],
        }
        transmission_id, when = secrets.token_hex(16), _now()
        signature = self._signature(transmission_id, when, self.webhook_id, event)
        if not verifiable:
            signature = "0" * len(signature)
        headers = {
            "PAYPAL-TRANSMISSION-ID": transmission_id,
            "PAYPAL-TRANSMISSION-TIME": when,
            "PAYPAL-TRANSMISSION-SIG": signature,
            "PAYPAL-CERT-URL": CERT_URL,
            "PAYPAL-AUTH-ALGO": "SHA256withRSA",
            "Content-Type": "application/json",
        }
        return json.dumps(event, indent=1).encode(), headers

    def capture_completed(self, order_id: str, **kw: Any) -> tuple[bytes, dict[str, str]]:
        return self.webhook("PAYMENT.CAPTURE.COMPLETED", self._capture_resource(order_id), **kw)

    def capture_denied(self, order_id: str, **kw: Any) -> tuple[bytes, dict[str, str]]:
        resource = {**self._capture_resource(order_id), "status": "DECLINED"}
        return self.webhook("PAYMENT.CAPTURE.DENIED", resource, **kw)

    def order_approved(self, order_id: str, **kw: Any) -> tuple[bytes, dict[str, str]]:
        return self.webhook("CHECKOUT.ORDER.APPROVED", self.order(order_id), **kw)

    def capture_refunded(self, refund: dict[str, Any], **kw: Any) -> tuple[bytes, dict[str, str]]:
        """PayPal's refund resource names its capture only through the ``up`` link."""
        return self.webhook("PAYMENT.CAPTURE.REFUNDED", copy.deepcopy(refund), **kw)

    def capture_reversed(self, reversal: dict[str, Any], **kw: Any) -> tuple[bytes, dict[str, str]]:
        """``PAYMENT.CAPTURE.REVERSED`` for a reversal made by :meth:`reverse`."""
        body, headers = self.webhook("PAYMENT.CAPTURE.REVERSED", copy.deepcopy(reversal), **kw)
        return body, headers

    def _capture_resource(self, order_id: str) -> dict[str, Any]:
        capture = copy.deepcopy(self.capture_of(order_id))
        capture["supplementary_data"] = {"related_ids": {"order_id": order_id}}
        return capture

    @staticmethod
    def deliver(url: str, body: bytes, headers: dict[str, str]) -> int:
        """POST a webhook to a live server; the HTTP status."""
        request = urllib.request.Request(url, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - test URL
                return response.status
        except urllib.error.HTTPError as exc:
            return exc.code

    # -- API behaviour ------------------------------------------------------------------------
    def _public(self, order: dict[str, Any]) -> dict[str, Any]:
        out = {k: copy.deepcopy(v) for k, v in order.items() if not k.startswith("_")}
        base = f"{self.url}/v2/checkout/orders/{order['id']}"
        links = [{"href": base, "rel": "self", "method": "GET"}]
        if order["status"] in ("CREATED", "PAYER_ACTION_REQUIRED"):
            links.append(
                {
                    "href": f"{self.url}/checkoutnow?token={order['id']}",
                    "rel": "payer-action",
                    "method": "GET",
                }
            )
        if order["status"] == "APPROVED":
            links.append({"href": base + "/capture", "rel": "capture", "method": "POST"})
        out["links"] = links
        return out

    def token(self, authorization: str, form: dict[str, list[str]]) -> tuple[int, dict[str, Any]]:
        with self._lock:
            self.token_requests += 1
        try:
            scheme, _, value = authorization.partition(" ")
            user, _, password = b64decode(value).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            scheme, user, password = "", "", ""
        if scheme.lower() != "basic" or (user, password) != (self.client_id, self.client_secret):
            return 401, {
                "error": "invalid_client",
                "error_description": "Client Authentication failed",
            }
        if form.get("grant_type") != ["client_credentials"]:
            return 400, {
                "error": "unsupported_grant_type",
                "error_description": "Grant Type is NULL",
            }
        access = "A21AA" + secrets.token_urlsafe(40)
        with self._lock:
            self.tokens.add(access)
        return 200, {
            "scope": "https://uri.paypal.com/services/payments/payment",
            "access_token": access,
            "token_type": "Bearer",
            "app_id": "APP-FAKE",
            "expires_in": self.token_lifetime,
            "nonce": _now() + secrets.token_hex(8),
        }

    def authorized(self, authorization: str) -> bool:
        scheme, _, value = authorization.partition(" ")
        with self._lock:
            return scheme == "Bearer" and value in self.tokens

    def create_order(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        units = body.get("purchase_units")
        if body.get("intent") not in ("CAPTURE", "AUTHORIZE"):
            raise ApiError(
                400,
                error(
                    "INVALID_REQUEST",
                    "Request is not well-formed, syntactically incorrect, or violates schema.",
                    "INVALID_PARAMETER_VALUE",
                    "The value of a field is invalid.",
                ),
            )
        if not isinstance(units, list) or len(units) != 1:
            raise ApiError(
                400,
                error(
                    "INVALID_REQUEST",
                    "Request is not well-formed.",
                    "MISSING_REQUIRED_PARAMETER",
                    "purchase_units is required",
                ),
            )
        amount = units[0].get("amount") or {}
        currency, value = str(amount.get("currency_code", "")), str(amount.get("value", ""))
        try:
            decimal = Decimal(value)
        except InvalidOperation:
            decimal = Decimal(-1)
        places = 0 if currency in ZERO_DECIMAL else 2
        if decimal <= 0 or -decimal.as_tuple().exponent > places or "e" in value.lower():
            raise ApiError(
                422,
                error(
                    "UNPROCESSABLE_ENTITY",
                    UNPROCESSABLE,
                    "DECIMAL_PRECISION",
                    "If the currency supports decimals, only two decimal place "
                    "precision is supported.",
                ),
            )
        paypal = (body.get("payment_source") or {}).get("paypal") or {}
        context = paypal.get("experience_context") or body.get("application_context") or {}
        if not context.get("return_url") or not context.get("cancel_url"):
            raise ApiError(
                422,
                error(
                    "UNPROCESSABLE_ENTITY",
                    UNPROCESSABLE,
                    "MISSING_RETURN_URL",
                    "return_url and cancel_url are needed for this fake",
                ),
            )
        order_id = self._new_id("5O")
        unit = {
            "reference_id": units[0].get("reference_id") or "default",
            "amount": {"currency_code": currency, "value": value},
            "payee": {"email_address": "merchant@example.com", "merchant_id": "FAKEMERCHANT"},
        }
        for key in ("custom_id", "description", "invoice_id"):
            if key in units[0]:
                unit[key] = units[0][key]
        order = {
            "id": order_id,
            "intent": body["intent"],
            "status": "PAYER_ACTION_REQUIRED" if "payment_source" in body else "CREATED",
            "purchase_units": [unit],
            "create_time": _now(),
            "_return_url": context["return_url"],
            "_cancel_url": context["cancel_url"],
        }
        if "payment_source" in body:
            order["payment_source"] = {"paypal": {}}
        with self._lock:
            self.orders[order_id] = order
            return 200, self._public(order)

    def get_order(self, order_id: str) -> tuple[int, dict[str, Any]]:
        with self._lock:
            if order_id not in self.orders:
                raise ApiError(404, error(*NOT_FOUND))
            return 200, self._public(self.orders[order_id])

    def capture(self, order_id: str) -> tuple[int, dict[str, Any]]:
        with self._lock:
            if order_id not in self.orders:
                raise ApiError(404, error(*NOT_FOUND))
            order = self.orders[order_id]
            if order["status"] == "COMPLETED":
                raise ApiError(
                    422,
                    error(
                        "UNPROCESSABLE_ENTITY",
                        UNPROCESSABLE,
                        "ORDER_ALREADY_CAPTURED",
                        "Order already captured. If 'intent=CAPTURE' only one "
                        "capture per order is allowed.",
                    ),
                )
            if order["status"] != "APPROVED":
                raise ApiError(
                    422,
                    error(
                        "UNPROCESSABLE_ENTITY",
                        UNPROCESSABLE,
                        "ORDER_NOT_APPROVED",
                        "Payer has not yet approved the Order for payment.",
                    ),
                )
            decline, self._decline = self._decline, None
            if decline == "instrument":
                raise ApiError(
                    422,
                    error(
                        "UNPROCESSABLE_ENTITY",
                        UNPROCESSABLE,
                        "INSTRUMENT_DECLINED",
                        "The instrument presented was "
                        "either declined by the processor or bank, or it can't "
                        "be used for this payment.",
                    ),
                )
            capture_id = self._new_id("3C")
            unit = order["purchase_units"][0]
            capture = {
                "id": capture_id,
                "status": "DECLINED" if decline else "COMPLETED",
                "amount": dict(unit["amount"]),
                "final_capture": True,
                "seller_protection": {"status": "ELIGIBLE"},
                "custom_id": unit.get("custom_id"),
                "create_time": _now(),
                "update_time": _now(),
                "links": [
                    {
                        "href": f"{self.url}/v2/payments/captures/{capture_id}",
                        "rel": "self",
                        "method": "GET",
                    },
                    {
                        "href": f"{self.url}/v2/payments/captures/{capture_id}/refund",
                        "rel": "refund",
                        "method": "POST",
                    },
                    {
                        "href": f"{self.url}/v2/checkout/orders/{order_id}",
                        "rel": "up",
                        "method": "GET",
                    },
                ],
            }
            if not decline:
                capture["seller_receivable_breakdown"] = {
                    "gross_amount": dict(unit["amount"]),
                    "paypal_fee": {
                        "currency_code": unit["amount"]["currency_code"],
                        "value": "0.00",
                    },
                    "net_amount": dict(unit["amount"]),
                }
            unit["payments"] = {"captures": [capture]}
            order["status"] = "COMPLETED"
            self.captures[capture_id] = order_id
            return 201, self._public(order)

    def get_capture(self, capture_id: str) -> tuple[int, dict[str, Any]]:
        with self._lock:
            if capture_id not in self.captures:
                raise ApiError(404, error(*NOT_FOUND))
            order_id = self.captures[capture_id]
            unit = self.orders[order_id]["purchase_units"][0]
            capture = next(c for c in unit["payments"]["captures"] if c["id"] == capture_id)
            out = copy.deepcopy(capture)
            out["supplementary_data"] = {"related_ids": {"order_id": order_id}}
            return 200, out

    def _refund_capture(
        self, capture_id: str, body: dict[str, Any], request_id: str | None
    ) -> tuple[int, dict[str, Any]]:
        with self._lock:
            if capture_id not in self.captures:
                raise ApiError(404, error(*NOT_FOUND))
            order = self.orders[self.captures[capture_id]]
            capture = next(
                c
                for c in order["purchase_units"][0]["payments"]["captures"]
                if c["id"] == capture_id
            )
            if capture["status"] not in ("COMPLETED", "PARTIALLY_REFUNDED"):
                raise ApiError(
                    422,
                    error(
                        "UNPROCESSABLE_ENTITY",
                        UNPROCESSABLE,
                        "CAPTURE_FULLY_REFUNDED",
                        "The capture has already been fully refunded",
                    ),
                )
            currency = capture["amount"]["currency_code"]
            total = Decimal(capture["amount"]["value"])
            done = sum(
                (
                    Decimal(r["amount"]["value"])
                    for r in self.refunds.values()
                    if r["_capture"] == capture_id
                ),
                Decimal(0),
            )
            amount = body.get("amount") or {"currency_code": currency, "value": str(total - done)}
            if isinstance(amount, str):
                amount = {"currency_code": currency, "value": amount}
            if amount.get("currency_code") != currency:
                raise ApiError(
                    422,
                    error(
                        "UNPROCESSABLE_ENTITY",
                        UNPROCESSABLE,
                        "REFUND_CURRENCY_MISMATCH",
                        "Refund must be in the same currency as the capture",
                    ),
                )
            value = Decimal(str(amount.get("value")))
            if value <= 0 or done + value > total:
                raise ApiError(
                    422,
                    error(
                        "UNPROCESSABLE_ENTITY",
                        UNPROCESSABLE,
                        "REFUND_AMOUNT_EXCEEDED",
                        "The refund amount must be "
                        "less than or equal to the capture amount that has "
                        "not yet been refunded.",
                    ),
                )
            refund_id = self._new_id("1R")
            refund = {
                "id": refund_id,
                "status": "COMPLETED",
                "amount": {"currency_code": currency, "value": amount["value"]},
                "create_time": _now(),
                "update_time": _now(),
                "_capture": capture_id,
                "links": [
                    {
                        "href": f"{self.url}/v2/payments/refunds/{refund_id}",
                        "rel": "self",
                        "method": "GET",
                    },
                    {
                        "href": f"{self.url}/v2/payments/captures/{capture_id}",
                        "rel": "up",
                        "method": "GET",
                    },
                ],
            }
            self.refunds[refund_id] = refund
            capture["status"] = "REFUNDED" if done + value == total else "PARTIALLY_REFUNDED"
            return 201, {k: v for k, v in refund.items() if not k.startswith("_")}

    def verify(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        fields = (
            "auth_algo",
            "cert_url",
            "transmission_id",
            "transmission_sig",
            "transmission_time",
            "webhook_id",
            "webhook_event",
        )
        with self._lock:
            self.verifications.append(body)
        missing = [f for f in fields if not body.get(f)]
        if missing:
            raise ApiError(
                400,
                error(
                    "VALIDATION_ERROR",
                    "Invalid request - see details",
                    "MISSING_REQUIRED_PARAMETER",
                    f"{missing[0]} is required",
                ),
            )
        if body["webhook_id"] != self.webhook_id:
            return 200, {"verification_status": "FAILURE"}
        expected = self._signature(
            body["transmission_id"],
            body["transmission_time"],
            body["webhook_id"],
            body["webhook_event"],
        )
        ok = hmac.compare_digest(expected, str(body["transmission_sig"]))
        return 200, {"verification_status": "SUCCESS" if ok else "FAILURE"}

    # -- buyer pages --------------------------------------------------------------------------
    def checkout_page(self, order_id: str) -> tuple[int, str]:
        with self._lock:
            order = self.orders.get(order_id)
            if order is None:
                return 404, "<h1>This order does not exist</h1>"
            amount = order["purchase_units"][0]["amount"]
        token = escape(order_id)
        return 200, (
            "<!doctype html><title>PayPal Checkout (fake)</title>"
            f"<h1>Pay {escape(amount['value'])} {escape(amount['currency_code'])}</h1>"
            f"<form method='post' action='/checkoutnow/approve?token={token}'>"
            "<button type='submit' id='approve'>Approve</button></form>"
            f"<form method='post' action='/checkoutnow/cancel?token={token}'>"
            "<button type='submit' id='cancel'>Cancel and return</button></form>"
        )


def _handler(fake: FakePayPal) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:  # keep test output clean
            pass

        def _reply(
            self, status: int, payload: dict[str, Any] | str, headers: dict[str, str] | None = None
        ) -> None:
            is_json = not isinstance(payload, str)
            data = (json.dumps(payload) if is_json else payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json" if is_json else "text/html")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Paypal-Debug-Id", secrets.token_hex(6))
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(data)

        def _body(self) -> bytes:
            return self.rfile.read(int(self.headers.get("Content-Length") or 0))

        def do_GET(self) -> None:  # noqa: N802 - http.server API
            url = urlsplit(self.path)
            if url.path == "/checkoutnow":
                token = (parse_qs(url.query).get("token") or [""])[0]
                return self._reply(*fake.checkout_page(token))
            self._api("GET", url.path, b"")

        def do_POST(self) -> None:  # noqa: N802 - http.server API
            url, body = urlsplit(self.path), self._body()
            if url.path in ("/checkoutnow/approve", "/checkoutnow/cancel"):
                token = (parse_qs(url.query).get("token") or [""])[0]
                if token not in fake.orders:
                    return self._reply(404, "<h1>This order does not exist</h1>")
                if url.path.endswith("/approve"):
                    location = fake.approve(token)
                else:
                    cancel = fake.orders[token]["_cancel_url"]
                    sep = "&" if "?" in cancel else "?"
                    location = cancel + sep + urlencode({"token": token})
                return self._reply(302, "", {"Location": location})
            if url.path == "/v1/oauth2/token":
                with fake._lock:
                    fake.requests.append(("POST", url.path))
                form = parse_qs(body.decode("utf-8", "replace"))
                return self._reply(*fake.token(self.headers.get("Authorization", ""), form))
            self._api("POST", url.path, body)

        def _api(self, method: str, path: str, raw: bytes) -> None:
            with fake._lock:
                fake.requests.append((method, path))
            if not fake.authorized(self.headers.get("Authorization", "")):
                return self._reply(
                    401,
                    {
                        "name": "AUTHENTICATION_FAILURE",
                        "message": "Authentication failed due to invalid authentication credentials "
                        "or a missing Authorization header.",
                        "links": [
                            {
                                "href": "https://developer.paypal.com/docs/api/overview/#error",
                                "rel": "information_link",
                            }
                        ],
                    },
                )
            try:
                body = json.loads(raw) if raw.strip() else {}
            except ValueError:
                return self._reply(
                    400,
                    error(
                        "INVALID_REQUEST",
                        "Request is not well-formed, syntactically incorrect, or violates schema.",
                        "MALFORMED_REQUEST_JSON",
                        "The request JSON is not well formed.",
                    ),
                )
            if fake.delay:
                time.sleep(fake.delay)
            request_id = self.headers.get("PayPal-Request-Id")
            key = (path, request_id or "")
            with fake._lock:  # one request id: one outcome, however many arrive at once
                if request_id and method == "POST" and key in fake._idempotent:
                    status, payload = fake._idempotent[key]
                else:
                    try:
                        status, payload = self._route(method, path, body, request_id)
                    except ApiError as exc:
                        status, payload = exc.status, exc.body
                    if request_id and method == "POST":
                        fake._idempotent[key] = (status, payload)
                lose = fake.lose_answers > 0
                fake.lose_answers -= lose
            if lose:  # carried out at "PayPal", but the answer never arrives
                self.close_connection = True
                return
            self._reply(status, payload)

        def _route(
            self, method: str, path: str, body: dict[str, Any], request_id: str | None
        ) -> tuple[int, dict[str, Any]]:
            parts = path.strip("/").split("/")
            if method == "POST" and path == "/v2/checkout/orders":
                return fake.create_order(body)
            if method == "POST" and path == "/v1/notifications/verify-webhook-signature":
                return fake.verify(body)
            if parts[:3] == ["v2", "checkout", "orders"] and len(parts) == 4 and method == "GET":
                return fake.get_order(parts[3])
            if (
                parts[:3] == ["v2", "checkout", "orders"]
                and len(parts) == 5
                and parts[4] == "capture"
                and method == "POST"
            ):
                return fake.capture(parts[3])
            if parts[:3] == ["v2", "payments", "captures"] and len(parts) == 4 and method == "GET":
                return fake.get_capture(parts[3])
            if (
                parts[:3] == ["v2", "payments", "captures"]
                and len(parts) == 5
                and parts[4] == "refund"
                and method == "POST"
            ):
                return fake._refund_capture(parts[3], body, request_id)
            raise ApiError(404, error(*NOT_FOUND))

    return Handler


try:
    import pytest
except ImportError:  # pragma: no cover - demos run without pytest
    pytest = None

if pytest is not None:

    @pytest.fixture
    def paypal_server():
        """A running :class:`FakePayPal` (credentials ``fake-client-id``/``fake-client-secret``)."""
        with FakePayPal() as server:
            yield server
