"""A local Stripe-compatible server for tests and demos (never the network).

It speaks what the ``stripe`` library sends (form-encoded bodies in bracket
notation, ``Authorization: Bearer <secret key>``) and answers with Stripe-shaped
objects and errors:

    POST /v1/checkout/sessions               create a Checkout Session
    GET  /v1/checkout/sessions/{id}          retrieve one
    GET  /v1/checkout/sessions?payment_intent=pi_...
    POST /v1/refunds                         refund a payment intent or charge
    GET  /v1/refunds?charge=ch_...
    GET  /v1/charges/{id}, GET /v1/disputes/{id}
    GET  /pay/{session}                      the hosted checkout page (a "Pay" button)
    POST /pay/{session}                      pays: sends ``checkout.session.completed``
                                             to ``webhook_url``, redirects to the success URL

Webhooks are signed like Stripe's (``Stripe-Signature: t=...,v1=HMAC-SHA256``),
computed here independently of the library under test. Test controls are the
methods of :class:`FakeStripe` (pay without the webhook, send any event signed
well or badly, replay, fail an async payment, expire, refund from the "dashboard",
open and close a dispute, fail a refund, lose an answer, delay every API call).

``Idempotency-Key`` works as Stripe's does: a POST repeated with the same key and the
same parameters gets the first answer again (``Idempotent-Replayed: true``) without doing
anything twice; the same key with other parameters is a 400 ``idempotency_error``.

    with FakeStripe() as fake:
        fake.webhook_url = "http://127.0.0.1:5000/payments/stripe/webhook"
"""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import html
import json
import re
import secrets
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from simulators.served import ServedFake

SECRET_KEY = "sk_test_pteroca_fake_key"
WEBHOOK_SECRET = "whsec_pteroca_fake_secret"
API_VERSION = "2024-06-20"
ZERO_DECIMAL = {
    "bif",
    "clp",
    "djf",
    "gnf",
    "jpy",
    "kmf",
    "krw",
    "mga",
    "pyg",
    "rwf",
    "ugx",
    "vnd",
    "vuv",
    "xaf",
    "xof",
    "xpf",
}
CURRENCIES = {
    "usd",
    "eur",
    "gbp",
    "pln",
    "cad",
    "aud",
    "nzd",
    "chf",
    "sek",
    "nok",
    "dkk",
    "czk",
    "ron",
    "bgn",
    "sgd",
    "hkd",
    "mxn",
    "brl",
    "jpy",
    "huf",
}
METHOD_TYPES = {
    "card",
    "link",
    "blik",
    "p24",
    "sepa_debit",
    "ideal",
    "bancontact",
    "eps",
    "giropay",
    "klarna",
    "paypal",
    "us_bank_account",
    "bacs_debit",
    "affirm",
}
SIGNING = ("signed", "wrong_secret", "stale", "malformed", "unsigned")


class StripeFakeError(Exception):
    """An API error answered as Stripe does: ``{"error": {...}}`` with an HTTP status."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type_: str = "invalid_request_error",
        code: str | None = None,
        param: str | None = None,
    ):
        super().__init__(message)
        self.status = status
        self.body = {"error": {"type": type_, "message": message, "code": code, "param": param}}


@dataclass
class Delivery:
    """One webhook POST: the event, how it was signed, and what the receiver answered."""

    event_id: str
    type: str
    how: str
    status: int | None  # None when the receiver could not be reached
    response: str
    body: bytes
    error: str = ""


def decode_form(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """``[("a[0][b]", "1"), ("m[k]", "v")]`` -> ``{"a": [{"b": "1"}], "m": {"k": "v"}}``."""
    root: dict[str, Any] = {}
    for key, value in pairs:
        head = key.split("[", 1)[0]
        parts = [head, *re.findall(r"\[([^\]]*)\]", key[len(head) :])]
        node = root
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise StripeFakeError(400, f"Invalid parameter {key}", param=key)
        node[parts[-1]] = value
    return _listify(root)


def _listify(value: Any) -> Any:
    if not isinstance(value, dict):
        return value
    out = {k: _listify(v) for k, v in value.items()}
    if out and all(k.isdigit() for k in out):
        return [out[k] for k in sorted(out, key=int)]
    return out


def sign(payload: bytes, secret: str, timestamp: int | None = None) -> str:
    """The ``Stripe-Signature`` header value for ``payload``."""
    stamp = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{stamp}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={stamp},v1={mac}"


def display_amount(amount: int, currency: str) -> str:
    if currency.lower() in ZERO_DECIMAL:
        return f"{amount} {currency.upper()}"
    return f"{amount // 100}.{amount % 100:02d} {currency.upper()}"


class FakeStripe(ServedFake):
    thread_name = "fake-stripe"

    """The server and its state. ``webhook_url`` is where events go (None: nowhere)."""

    def __init__(self, secret_key: str = SECRET_KEY, webhook_secret: str = WEBHOOK_SECRET) -> None:
        self.secret_key = secret_key
        self.webhook_secret = webhook_secret
        self.webhook_url: str | None = None
        self.sessions: dict[str, dict[str, Any]] = {}
        self.intents: dict[str, dict[str, Any]] = {}
        self.charges: dict[str, dict[str, Any]] = {}
        self.refunds: dict[str, dict[str, Any]] = {}
        self.requests: list[tuple[str, str, dict[str, Any]]] = []  # (method, path, params)
        self.deliveries: list[Delivery] = []
        self.outbox: list[dict[str, Any]] = []  # events of API calls, sent by flush()
        self.failures: list[StripeFakeError] = []  # answered, in order, to the next API calls
        self.disputes: dict[str, dict[str, Any]] = {}
        self.delay = 0.0  # seconds every API call waits before it is answered (a slow Stripe)
        self.lose_answers = 0  # the next N API calls are carried out, but their answer is lost
        self.idempotent: dict[tuple[str, str], tuple[str, int, dict[str, Any]]] = {}
        self._last: tuple[dict[str, Any], bytes] | None = None
        self._lock = threading.RLock()
        self._serve(self._handler())

    # -- lifecycle -------------------------------------------------------------------------

    # -- lookups ---------------------------------------------------------------------------
    def session(self, session_id: str) -> dict[str, Any]:
        with self._lock:
            if session_id not in self.sessions:
                raise KeyError(f"no fake Checkout Session {session_id!r}")
            return self.sessions[session_id]

    def session_for_payment(self, payment_id: int) -> dict[str, Any]:
        """The session created for pteroca payment ``payment_id`` (its client_reference_id)."""
        with self._lock:
            for session in self.sessions.values():
                if session["client_reference_id"] == str(payment_id):
                    return session
        raise KeyError(f"no fake Checkout Session for payment {payment_id}")

    def charge_of(self, session_id: str) -> dict[str, Any]:
        intent = self.intents[self.session(session_id)["payment_intent"]]
        return self.charges[intent["latest_charge"]]

    # -- test controls: payments -----------------------------------------------------------
    def pay(
        self, session_id: str, *, webhook: bool = True, delayed: bool = False
    ) -> dict[str, Any]:
        """The customer pays. ``delayed``: a method that settles later (payment stays unpaid)."""
        with self._lock:
            session = self.session(session_id)
            if session["status"] != "open":
                raise StripeFakeError(400, f"Checkout Session {session_id} is {session['status']}")
            intent = self._new_intent(session, "processing" if delayed else "succeeded")
            session.update(
                status="complete",
                payment_intent=intent["id"],
                payment_status="unpaid" if delayed else "paid",
            )
            if not delayed:
                self._new_charge(intent)
            event = self.event("checkout.session.completed", session)
        if webhook:
            self.send(event)
        return session

    def mark_paid(self, session_id: str) -> dict[str, Any]:
        """Paid at Stripe, but no webhook is sent (only the return page can tell)."""
        return self.pay(session_id, webhook=False)

    def succeed_async(self, session_id: str, *, webhook: bool = True) -> dict[str, Any]:
        with self._lock:
            session = self._delayed(session_id)
            intent = self.intents[session["payment_intent"]]
            intent["status"] = "succeeded"
            self._new_charge(intent)
            session["payment_status"] = "paid"
            event = self.event("checkout.session.async_payment_succeeded", session)
        if webhook:
            self.send(event)
        return session

    def fail_async(self, session_id: str, *, webhook: bool = True) -> dict[str, Any]:
        with self._lock:
            session = self._delayed(session_id)
            self.intents[session["payment_intent"]]["status"] = "requires_payment_method"
            event = self.event("checkout.session.async_payment_failed", session)
        if webhook:
            self.send(event)
        return session

    def expire(self, session_id: str, *, webhook: bool = True) -> dict[str, Any]:
        with self._lock:
            session = self.session(session_id)
            if session["status"] != "open":
                raise StripeFakeError(400, f"Checkout Session {session_id} is {session['status']}")
            session["status"] = "expired"
            event = self.event("checkout.session.expired", session)
        if webhook:
            self.send(event)
        return session

    def refund(
        self,
        session_id: str,
        amount: int | None = None,
        *,
        webhook: bool = True,
        embed_refunds: bool = False,
    ) -> dict[str, Any]:
        """A refund made in the Stripe dashboard: sends ``charge.refunded`` at once."""
        with self._lock:
            refund = self._new_refund(self.charge_of(session_id), amount, {})
            event = self.refunded_event(refund["charge"], embed_refunds=embed_refunds)
        if webhook:
            self.send(event)
        return refund

    def refunded_event(self, charge_id: str, *, embed_refunds: bool = False) -> dict[str, Any]:
        """``charge.refunded`` for the charge as it is now (refunds embedded on request, as
        API versions before 2022-11-15 did)."""
        with self._lock:
            charge = copy.deepcopy(self.charges[charge_id])
            if embed_refunds:
                data = [r for r in self.refunds.values() if r["charge"] == charge_id]
                charge["refunds"] = {
                    "object": "list",
                    "data": copy.deepcopy(data),
                    "has_more": False,
                    "url": f"/v1/charges/{charge_id}/refunds",
                }
            return self.event("charge.refunded", charge)

    def fail_refund(self, refund_id: str, *, webhook: bool = True) -> dict[str, Any]:
        """A refund that fails after it was made (the card was closed): the money comes back
        to the merchant; sends ``charge.refund.updated``."""
        with self._lock:
            refund = self.refunds[refund_id]
            refund["status"] = "failed"
            refund["failure_reason"] = "expired_or_canceled_card"
            charge = self.charges[refund["charge"]]
            charge["amount_refunded"] -= refund["amount"]
            charge["refunded"] = False
            event = self.event("charge.refund.updated", refund)
        if webhook:
            self.send(event)
        return refund

    # -- test controls: disputes ----------------------------------------------------------
    def dispute(
        self,
        session_id: str,
        amount: int | None = None,
        *,
        reason: str = "fraudulent",
        inquiry: bool = False,
        webhook: bool = True,
    ) -> dict[str, Any]:
        """The cardholder disputes the payment. Stripe withdraws the disputed amount at once
        (``charge.dispute.created`` and ``charge.dispute.funds_withdrawn``); an ``inquiry``
        (status ``warning_needs_response``) moves no money and sends only ``created``."""
        with self._lock:
            charge = self.charge_of(session_id)
            amount = charge["amount"] if amount is None else amount
            now = int(time.time())
            dispute = {
                "id": _id("dp"),
                "object": "dispute",
                "amount": amount,
                "currency": charge["currency"],
                "charge": charge["id"],
                "payment_intent": charge["payment_intent"],
                "created": now,
                "status": "warning_needs_response" if inquiry else "needs_response",
                "reason": reason,
                "is_charge_refundable": False,
                "livemode": False,
                "metadata": {},
                "evidence": {},
                "evidence_details": {
                    "due_by": now + 7 * 86400,
                    "has_evidence": False,
                    "past_due": False,
                    "submission_count": 0,
                },
                "balance_transactions": []
                if inquiry
                else [self._dispute_txn(amount, charge, -1, "Chargeback withdrawal")],
            }
            self.disputes[dispute["id"]] = dispute
            charge["disputed"] = True
            events = [self.event("charge.dispute.created", dispute)]
            if not inquiry:
                events.append(self.event("charge.dispute.funds_withdrawn", dispute))
        if webhook:
            for event in events:
                self.send(event)
        return dispute

    def close_dispute(self, dispute_id: str, *, won: bool, webhook: bool = True) -> list[dict]:
        """The dispute ends: won (funds reinstated, then closed) or lost (closed); the events."""
        with self._lock:
            dispute = self.disputes[dispute_id]
            inquiry = dispute["status"].startswith("warning_")
            dispute["status"] = "warning_closed" if inquiry else "won" if won else "lost"
            events = []
            if won and not inquiry:
                charge = self.charges[dispute["charge"]]
                dispute["balance_transactions"].append(
                    self._dispute_txn(dispute["amount"], charge, 1, "Chargeback reversal")
                )
                events.append(self.event("charge.dispute.funds_reinstated", dispute))
            events.append(self.event("charge.dispute.closed", dispute))
        if webhook:
            for event in events:
                self.send(event)
        return events

    @staticmethod
    def _dispute_txn(amount: int, charge: dict[str, Any], sign: int, text: str) -> dict[str, Any]:
        return {
            "id": _id("txn"),
            "object": "balance_transaction",
            "amount": sign * amount,
            "currency": charge["currency"],
            "description": f"{text} for {charge['id']}",
            "fee": 1500 if sign < 0 else -1500,
            "type": "adjustment",
            "status": "pending",
            "created": int(time.time()),
        }

    def fail(self, error: StripeFakeError, times: int = 1) -> None:
        """Answer the next ``times`` API calls with ``error`` (the library retries once)."""
        with self._lock:
            self.failures.extend([error] * times)

    # -- test controls: webhooks -----------------------------------------------------------
    def event(self, type_: str, obj: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": _id("evt"),
            "object": "event",
            "api_version": API_VERSION,
            "created": int(time.time()),
            "type": type_,
            "livemode": False,
            "pending_webhooks": 1,
            "request": {"id": None, "idempotency_key": None},
            "data": {"object": copy.deepcopy(obj)},
        }

    def send(
        self, event: dict[str, Any], *, how: str = "signed", url: str | None = None
    ) -> Delivery:
        """POST ``event`` to the webhook URL; ``how`` is one of :data:`SIGNING`."""
        if how not in SIGNING:
            raise ValueError(f"how must be one of {SIGNING}")
        body = json.dumps(event).encode()
        if how == "malformed":
            body = body[: len(body) // 2]  # cut mid-JSON, still correctly signed
        secret = "whsec_not_the_right_one" if how == "wrong_secret" else self.webhook_secret
        stamp = int(time.time()) - 3600 if how == "stale" else None
        headers = {} if how == "unsigned" else {"Stripe-Signature": sign(body, secret, stamp)}
        if how == "signed":
            self._last = (event, body)
        return self._post(event, how, body, headers, url)

    def replay(self, times: int = 1) -> list[Delivery]:
        """Deliver the last correctly signed event again (freshly signed, as Stripe retries)."""
        if self._last is None:
            raise RuntimeError("no event has been sent yet")
        event, body = self._last
        return [
            self._post(event, "signed", body, {"Stripe-Signature": sign(body, self.webhook_secret)})
            for _ in range(times)
        ]

    def flush(self) -> list[Delivery]:
        """Deliver the events API calls queued (Stripe sends them after answering the call)."""
        with self._lock:
            events, self.outbox = self.outbox, []
        return [self.send(event) for event in events]

    def _post(
        self,
        event: dict[str, Any],
        how: str,
        body: bytes,
        headers: dict[str, str],
        url: str | None = None,
    ) -> Delivery:
        target = url or self.webhook_url
        if not target:
            raise RuntimeError("FakeStripe.webhook_url is not set")
        request = urllib.request.Request(
            target,
            data=body,
            method="POST",
            headers={
                "Content-Type": "application/json; charset=utf-8",
                "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
                **headers,
            },
        )
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        try:
            with opener.open(request, timeout=60) as response:
                delivery = Delivery(
                    event["id"],
                    event["type"],
                    how,
                    response.status,
                    response.read().decode(errors="replace"),
                    body,
                )
        except urllib.error.HTTPError as exc:
            delivery = Delivery(
                event["id"], event["type"], how, exc.code, exc.read().decode(errors="replace"), body
            )
        except OSError as exc:
            delivery = Delivery(event["id"], event["type"], how, None, "", body, error=str(exc))
        with self._lock:
            self.deliveries.append(delivery)
        return delivery

    # -- state changes ---------------------------------------------------------------------
    def _delayed(self, session_id: str) -> dict[str, Any]:
        session = self.session(session_id)
        if session["status"] != "complete" or session["payment_status"] != "unpaid":
            raise StripeFakeError(400, f"Checkout Session {session_id} has no pending payment")
        return session

    def _new_intent(self, session: dict[str, Any], status: str) -> dict[str, Any]:
        intent = {
            "id": _id("pi"),
            "object": "payment_intent",
            "amount": session["amount_total"],
            "currency": session["currency"],
            "status": status,
            "latest_charge": None,
            "metadata": dict(session["_intent_metadata"]),
            "created": int(time.time()),
            "livemode": False,
        }
        self.intents[intent["id"]] = intent
        return intent

    def _new_charge(self, intent: dict[str, Any]) -> dict[str, Any]:
        charge = {
            "id": _id("ch"),
            "object": "charge",
            "amount": intent["amount"],
            "amount_captured": intent["amount"],
            "amount_refunded": 0,
            "currency": intent["currency"],
            "paid": True,
            "captured": True,
            "payment_intent": intent["id"],
            "refunded": False,
            "status": "succeeded",
            "metadata": dict(intent["metadata"]),
            "created": int(time.time()),
            "livemode": False,
        }
        self.charges[charge["id"]] = charge
        intent["latest_charge"] = charge["id"]
        return charge

    def _new_refund(
        self, charge: dict[str, Any], amount: int | None, metadata: dict[str, Any]
    ) -> dict[str, Any]:
        left = charge["amount"] - charge["amount_refunded"]
        amount = left if amount is None else amount
        if amount <= 0 or amount > left:
            currency = charge["currency"]
            raise StripeFakeError(
                400,
                f"Refund amount ({display_amount(amount, currency)})"
                f" is greater than unrefunded amount on charge "
                f"({display_amount(left, charge['currency'])})",
                code="amount_too_large",
                param="amount",
            )
        refund = {
            "id": _id("re"),
            "object": "refund",
            "amount": amount,
            "charge": charge["id"],
            "currency": charge["currency"],
            "payment_intent": charge["payment_intent"],
            "status": "succeeded",
            "reason": None,
            "metadata": metadata,
            "created": int(time.time()),
        }
        self.refunds[refund["id"]] = refund
        charge["amount_refunded"] += amount
        charge["refunded"] = charge["amount_refunded"] >= charge["amount"]
        return refund

    # -- the API ---------------------------------------------------------------------------
    def api(self, method: str, path: str, params: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            self.requests.append((method, path, params))
            if method == "POST" and path == "/v1/checkout/sessions":
                return self._create_session(params)
            if method == "GET" and path == "/v1/checkout/sessions":
                intent = params.get("payment_intent")
                found = [
                    s
                    for s in self.sessions.values()
                    if intent is None or s["payment_intent"] == intent
                ]
                return _list(path, found[: int(params.get("limit", 10))])
            match = re.fullmatch(r"/v1/checkout/sessions/([A-Za-z0-9_]+)", path)
            if method == "GET" and match:
                if match.group(1) not in self.sessions:
                    raise StripeFakeError(
                        404,
                        f"No such checkout.session: '{match.group(1)}'",
                        code="resource_missing",
                        param="session",
                    )
                return _public(self.sessions[match.group(1)])
            if method == "POST" and path == "/v1/refunds":
                return self._create_refund(params)
            if method == "GET" and path == "/v1/refunds":
                found = [
                    r for r in self.refunds.values() if params.get("charge") in (None, r["charge"])
                ]
                return _list(path, found[: int(params.get("limit", 10))])
            for kind, store in (("charges", self.charges), ("disputes", self.disputes)):
                match = re.fullmatch(rf"/v1/{kind}/([A-Za-z0-9_]+)", path)
                if method == "GET" and match:
                    if match.group(1) not in store:
                        raise StripeFakeError(
                            404,
                            f"No such {kind[:-1]}: '{match.group(1)}'",
                            code="resource_missing",
                            param="id",
                        )
                    return _public(store[match.group(1)])
        raise StripeFakeError(404, f"Unrecognized request URL ({method}: {path}).")

    def answer(
        self, method: str, path: str, params: dict[str, Any], key: str | None
    ) -> tuple[int, dict[str, Any], bool]:
        """(status, body, replayed) for one API call, honouring ``Idempotency-Key`` on POSTs."""
        with self._lock:
            if method == "POST" and key:
                seen = self.idempotent.get((self.secret_key, key))
                if seen is not None:
                    fingerprint, status, body = seen
                    if fingerprint != _fingerprint(path, params):
                        return (
                            400,
                            StripeFakeError(
                                400,
                                "Keys for idempotent requests can only be used with the same "
                                "parameters they were first used with. Try using a key other than "
                                f"'{key}' if you meant to execute a different request.",
                                type_="idempotency_error",
                            ).body,
                            False,
                        )
                    self.requests.append((method, path, params))
                    return status, copy.deepcopy(body), True
            if self.failures:  # refused before anything ran: nothing is remembered for the key
                self.requests.append((method, path, params))
                error = self.failures.pop(0)
                return error.status, error.body, False
            try:
                status, body = 200, self.api(method, path, params)
            except StripeFakeError as exc:
                status, body = exc.status, exc.body
            if method == "POST" and key:
                self.idempotent[(self.secret_key, key)] = (
                    _fingerprint(path, params),
                    status,
                    copy.deepcopy(body),
                )
            return status, body, False

    def _create_session(self, params: dict[str, Any]) -> dict[str, Any]:
        for name in ("mode", "success_url", "line_items"):
            if not params.get(name):
                raise StripeFakeError(
                    400, f"Missing required param: {name}.", code="parameter_missing", param=name
                )
        if params["mode"] != "payment":
            raise StripeFakeError(400, "This fake only supports mode=payment.", param="mode")
        try:
            (item,) = params["line_items"]
            price = item["price_data"]
            currency = price["currency"].lower()
            amount = int(price["unit_amount"]) * int(item.get("quantity", "1"))
            product = price["product_data"]["name"]
        except (KeyError, TypeError, ValueError):
            raise StripeFakeError(
                400,
                "line_items must hold one item with price_data "
                "(currency, unit_amount, product_data[name])",
                param="line_items",
            ) from None
        if currency not in CURRENCIES:
            raise StripeFakeError(400, f"Invalid currency: {currency}.", param="currency")
        if amount <= 0:
            raise StripeFakeError(
                400, "unit_amount must be positive.", param="line_items[0][price_data][unit_amount]"
            )
        methods = params.get("payment_method_types") or ["card"]
        for method in methods:
            if method not in METHOD_TYPES:
                raise StripeFakeError(
                    400,
                    f"The payment method type provided: {method} is invalid.",
                    param="payment_method_types",
                )
        session_id = _id("cs_test")
        now = int(time.time())
        session = {
            "id": session_id,
            "object": "checkout.session",
            "amount_subtotal": amount,
            "amount_total": amount,
            "cancel_url": params.get("cancel_url"),
            "client_reference_id": params.get("client_reference_id"),
            "created": now,
            "currency": currency,
            "customer": None,
            "expires_at": now + 86400,
            "livemode": False,
            "metadata": params.get("metadata") or {},
            "mode": "payment",
            "payment_intent": None,
            "payment_method_types": methods,
            "payment_status": "unpaid",
            "status": "open",
            "success_url": params["success_url"],
            "url": f"{self.url}/pay/{session_id}",
            "_product": product,
            "_intent_metadata": (params.get("payment_intent_data") or {}).get("metadata") or {},
        }
        self.sessions[session_id] = session
        return _public(session)

    def _create_refund(self, params: dict[str, Any]) -> dict[str, Any]:
        if params.get("charge"):
            charge = self.charges.get(params["charge"])
        elif params.get("payment_intent"):
            intent = self.intents.get(params["payment_intent"])
            charge = self.charges.get(intent["latest_charge"] or "") if intent else None
        else:
            raise StripeFakeError(
                400,
                "One of the following params should be provided for this "
                "request: payment_intent or charge.",
                code="parameter_missing",
            )
        if charge is None:
            raise StripeFakeError(
                404, "No such charge or payment intent to refund", code="resource_missing"
            )
        amount = int(params["amount"]) if "amount" in params else None
        refund = self._new_refund(charge, amount, params.get("metadata") or {})
        self.outbox.append(self.refunded_event(charge["id"]))
        return copy.deepcopy(refund)

    # -- the hosted checkout page ----------------------------------------------------------
    def checkout_page(self, session_id: str) -> str:
        session = self.session(session_id)
        amount = html.escape(display_amount(session["amount_total"], session["currency"]))
        if session["status"] != "open":
            body = f"<p>This Checkout Session is {html.escape(session['status'])}.</p>"
        else:
            body = (
                f'<form method="post" action="/pay/{session_id}">'
                f'<button type="submit" id="pay">Pay</button></form>'
                f'<p><a href="{html.escape(session["cancel_url"] or "/")}">Cancel</a></p>'
            )
        return (
            "<!doctype html><html lang=en><head><meta charset=utf-8>"
            "<link rel=icon href='data:,'><title>Checkout (fake Stripe)</title></head>"
            f"<body><h1>Fake Stripe Checkout</h1><p>{html.escape(session['_product'])}: "
            f"<strong id=amount>{amount}</strong></p>{body}</body></html>"
        )

    def complete_from_page(self, session_id: str) -> str:
        """The Pay button: pay, send the webhook, return where to send the browser."""
        session = self.pay(session_id, webhook=self.webhook_url is not None)
        return session["success_url"].replace("{CHECKOUT_SESSION_ID}", session_id)

    # -- HTTP ------------------------------------------------------------------------------
    def _authorized(self, header: str) -> bool:
        scheme, _, value = header.partition(" ")
        if scheme.lower() == "bearer":
            key = value.strip()
        elif scheme.lower() == "basic":
            try:
                key = base64.b64decode(value).decode().split(":", 1)[0]
            except (ValueError, UnicodeDecodeError):
                return False
        else:
            return False
        return hmac.compare_digest(key, self.secret_key)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # keep test output clean
                pass

            def do_GET(self) -> None:  # noqa: N802 - http.server API
                self._route("GET")

            def do_POST(self) -> None:  # noqa: N802 - http.server API
                self._route("POST")

            def _route(self, method: str) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                page = re.fullmatch(r"/pay/([A-Za-z0-9_]+)", parts.path)
                try:
                    if page:
                        return self._page(method, page.group(1))
                    if not parts.path.startswith("/v1/"):
                        raise StripeFakeError(
                            404, f"Unrecognized request URL ({method}: {parts.path})."
                        )
                    if not fake._authorized(self.headers.get("Authorization", "")):
                        raise StripeFakeError(
                            401,
                            "Invalid API Key provided: "
                            + _masked(self.headers.get("Authorization", "")),
                            code="api_key_invalid",
                        )
                    source = parts.query if method == "GET" else body.decode()
                    params = decode_form(parse_qsl(source, keep_blank_values=True))
                except StripeFakeError as exc:
                    return self._json(exc.status, exc.body)
                if fake.delay:
                    time.sleep(fake.delay)
                status, payload, replayed = fake.answer(
                    method, parts.path, params, self.headers.get("Idempotency-Key")
                )
                with fake._lock:
                    lose = fake.lose_answers > 0
                    fake.lose_answers -= lose
                if lose:  # done at "Stripe", but the answer never arrives
                    self.close_connection = True
                    return
                self._json(status, payload, {"Idempotent-Replayed": "true"} if replayed else None)

            def _page(self, method: str, session_id: str) -> None:
                if session_id not in fake.sessions:
                    raise StripeFakeError(404, f"No such checkout.session: '{session_id}'")
                if method == "GET":
                    return self._send(
                        200, fake.checkout_page(session_id).encode(), "text/html; charset=utf-8"
                    )
                location = fake.complete_from_page(session_id)
                self.send_response(303)
                self.send_header("Location", location)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def _json(
                self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None
            ) -> None:
                self._send(status, json.dumps(payload).encode(), "application/json", headers)

            def _send(
                self,
                status: int,
                data: bytes,
                content_type: str,
                headers: dict[str, str] | None = None,
            ) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Request-Id", _id("req"))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

        return Handler


def _id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(12)}"


def _fingerprint(path: str, params: dict[str, Any]) -> str:
    return path + "?" + json.dumps(params, sort_keys=True)


def _public(obj: dict[str, Any]) -> dict[str, Any]:
    return {k: copy.deepcopy(v) for k, v in obj.items() if not k.startswith("_")}


def _list(url: str, items: list[dict[str, Any]]) -> dict[str, Any]:
    return {"object": "list", "data": [_public(i) for i in items], "has_more": False, "url": url}


def _masked(header: str) -> str:
    key = header.partition(" ")[2].strip()
    return f"{key[:8]}{'*' * 8}{key[-4:]}" if len(key) > 12 else "(none)"


try:
    import pytest
except ImportError:  # pragma: no cover - a demo can run without pytest
    pytest = None

if pytest is not None:

    @pytest.fixture
    def stripe_server():
        """A running :class:`FakeStripe`; set ``webhook_url`` to the app's webhook route."""
        with FakeStripe() as server:
            yield server
