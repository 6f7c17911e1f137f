"""Outgoing webhooks: signed deliveries a reference verifier accepts, retries with backoff
through the outbox, the delivery log, replay, and the SSRF guard."""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import select, update

from tests.api.conftest import bearer


def reference_verify(secret: str, body: bytes, header: str, tolerance: int = 300) -> bool:
    """A receiver's check, written from the documented scheme (not the kernel's code):
    t=<unix>,v1=<hex HMAC-SHA256(secret, t + "." + body)>, recent, compared in constant time."""
    fields = dict(part.split("=", 1) for part in header.split(","))
    stamp = int(fields["t"])
    if abs(time.time() - stamp) > tolerance:
        return False
    signed = str(stamp).encode() + b"." + body
    expected = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, fields["v1"])


class Receiver:
    """A webhook receiver on 127.0.0.1 that records what it gets and answers ``status``."""

    def __init__(self):
        self.requests: list[tuple[dict, bytes]] = []
        self.status = 200
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.requests.append((dict(self.headers), body))
                self.send_response(receiver.status)
                self.end_headers()
                self.wfile.write(b"ok" if receiver.status < 300 else b"boom")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    made = Receiver()
    yield made
    made.close()


@pytest.fixture
def admin_token(make_user, make_token):
    return make_token(make_user(role="admin"), ["admin:webhooks", "admin:users"])


def _register(client, token, url, events=("user.created",), allow_private=True):
    return client.post(
        "/api/v1/admin/webhooks",
        json={"url": url, "events": list(events), "allow_private": allow_private},
        headers=bearer(token),
    )


def _new_user(client, token, email="hooked@example.com"):
    response = client.post("/api/v1/admin/users", json={"email": email}, headers=bearer(token))
    assert response.status_code == 201, response.json
    return response.json


def test_a_delivery_is_signed_and_verifies_with_the_reference_verifier(
    client, receiver, admin_token
):
    made = _register(client, admin_token, receiver.url)
    assert made.status_code == 201 and made.json["secret"].startswith("whsec_")
    secret = made.json["secret"]
    assert "secret" not in client.get("/api/v1/admin/webhooks", headers=bearer(admin_token)).json[0]
    user = _new_user(client, admin_token)
    assert len(receiver.requests) == 1
    headers, body = receiver.requests[0]
    assert reference_verify(secret, body, headers["Pteroca-Signature"])
    assert not reference_verify(secret, body + b" ", headers["Pteroca-Signature"])
    assert not reference_verify("whsec_other", body, headers["Pteroca-Signature"])
    event = json.loads(body)
    assert event["type"] == "user.created" and event["data"]["user"]["id"] == user["id"]
    (logged,) = client.get("/api/v1/admin/webhooks/deliveries", headers=bearer(admin_token)).json
    assert logged["status"] == "delivered" and logged["response_code"] == 200


def test_a_failing_receiver_gets_retries_with_backoff_and_the_admin_replays(
    pteroca_instance, client, receiver, admin_token
):
    from kernel import outbox
    from kernel.extensions import db
    from kernel.outbox import OutboxMessage
    from kernel.webhooks.models import WebhookDelivery

    _register(client, admin_token, receiver.url)
    receiver.status = 500
    _new_user(client, admin_token)
    app = pteroca_instance.app
    waits = []
    with app.app_context():
        for _ in range(2):
            delivery = db.session.scalar(select(WebhookDelivery))
            assert delivery.status == "retrying" and delivery.response_code == 500
            waits.append((delivery.next_attempt_at - delivery.last_attempt_at).total_seconds())
            # time passes: the retry's outbox row becomes due
            db.session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.status == "pending")
                .values(available_at=OutboxMessage.created_at)
            )
            db.session.commit()
            outbox.dispatch_due(grace=0)
            db.session.expire_all()
        delivery = db.session.scalar(select(WebhookDelivery))
        assert delivery.attempts == 3 and len(receiver.requests) == 3
        db.session.remove()
    assert waits[0] < waits[1]  # backoff grows
    receiver.status = 204
    replayed = client.post(
        f"/api/v1/admin/webhooks/deliveries/{delivery.id}/replay", headers=bearer(admin_token)
    )
    assert replayed.status_code == 200 and replayed.json["status"] == "delivered"
    bodies = {body for _, body in receiver.requests}
    assert len(bodies) == 1  # the replay sends the same event body


def test_a_redirect_is_not_followed(client, receiver, admin_token):
    _register(client, admin_token, receiver.url)
    receiver.status = 302
    _new_user(client, admin_token)
    (logged,) = client.get("/api/v1/admin/webhooks/deliveries", headers=bearer(admin_token)).json
    assert logged["status"] == "retrying" and "redirects are not followed" in logged["error"]


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/hook",
        "http://127.1.2.3:8080/x",
        "http://10.0.0.1/hook",
        "http://10.255.255.254/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/hook",
        "http://[::ffff:10.0.0.1]/",
        "http://[fe80::1]/",
        "http://0.0.0.0/",
        "http://192.168.1.1/",
        "http://172.16.0.1/",
        "http://100.64.0.1/",
        "http://metadata.google.internal/",
        "ftp://example.com/",
        "http://user:pw@example.com/",
    ],
)
def test_the_ssrf_guard_refuses_internal_addresses(client, admin_token, url):
    response = _register(client, admin_token, url, allow_private=False)
    assert response.status_code == 422, response.json


def test_a_hostname_resolving_inside_is_refused_at_registration_and_at_delivery(
    pteroca_instance, client, receiver, admin_token, monkeypatch
):
    real = socket.getaddrinfo
    answers = {"evil.example": "169.254.169.254", "rebind.example": "93.184.216.34"}

    def fake(host, *args, **kwargs):
        if host in answers:
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (answers[host], 80))]
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", fake)
    refused = _register(client, admin_token, "http://evil.example/hook", allow_private=False)
    assert refused.status_code == 422 and "169.254.169.254" in refused.json["message"]
    for internal in ("10.1.2.3", "127.0.0.1"):
        answers["evil.example"] = internal
        assert (
            _register(client, admin_token, "http://evil.example/", allow_private=False).status_code
            == 422
        )
    # public at registration, internal at delivery time (DNS rebinding): refused then too
    assert (
        _register(
            client, admin_token, "http://rebind.example/hook", allow_private=False
        ).status_code
        == 201
    )
    answers["rebind.example"] = "127.0.0.1"
    _new_user(client, admin_token)
    (logged,) = client.get("/api/v1/admin/webhooks/deliveries", headers=bearer(admin_token)).json
    assert logged["status"] == "retrying" and logged["error"].startswith("refused:")
    assert logged["response_code"] is None and receiver.requests == []


def test_events_are_checked_and_invoice_issued_needs_its_plugin(
    client, admin_token, enable_plugin, receiver
):
    names = {
        e["name"]
        for e in client.get("/api/v1/admin/webhooks/events", headers=bearer(admin_token)).json
    }
    assert {"user.created", "payment.settled"} <= names and "invoice.issued" not in names
    assert _register(client, admin_token, receiver.url, ["invoice.issued"]).status_code == 422
    assert _register(client, admin_token, receiver.url, ["nope"]).status_code == 422
    enable_plugin("invoices", with_dependencies=True)
    names = {
        e["name"]
        for e in client.get("/api/v1/admin/webhooks/events", headers=bearer(admin_token)).json
    }
    assert "invoice.issued" in names and "service.created" in names
    assert _register(client, admin_token, receiver.url, ["invoice.issued"]).status_code == 201


def test_store_events_are_offered_and_a_purchase_emits_service_created(
    client, store, receiver, admin_token, make_user, make_token, fund
):
    made = _register(client, admin_token, receiver.url, ["service.created", "service.terminated"])
    assert made.status_code == 201, made.json
    customer = make_user()
    fund(customer, 5000)
    secret = make_token(customer, ["write:servers"])
    bought = client.post(
        "/api/v1/servers",
        json={**store, "name": "hooked"},
        headers={**bearer(secret), "Idempotency-Key": "w"},
    )
    assert bought.status_code == 201
    events = [json.loads(body) for _, body in receiver.requests]
    assert [e["type"] for e in events] == ["service.created"]
    assert events[0]["data"]["service"]["id"] == bought.json["id"]


def test_the_admin_page_registers_lists_and_replays(login_as, receiver):
    import re

    admin = login_as("admin")
    page = admin.get("/admin/webhooks/").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    refused = admin.post(
        "/admin/webhooks/",
        data={"csrf_token": csrf, "url": receiver.url, "events": ["user.created"]},
    )
    assert refused.status_code == 400  # 127.0.0.1 without "allow a private address"
    made = admin.post(
        "/admin/webhooks/",
        data={
            "csrf_token": csrf,
            "url": receiver.url,
            "events": ["user.created"],
            "allow_private": "1",
        },
    )
    assert made.status_code == 201 and "whsec_" in made.get_data(as_text=True)
    receiver.status = 500
    login_as("customer")  # a new account: user.created
    listing = admin.get("/admin/webhooks/").get_data(as_text=True)
    delivery_id = re.search(r'id="delivery-(\d+)"', listing).group(1)
    receiver.status = 200
    admin.post(f"/admin/webhooks/deliveries/{delivery_id}/replay", data={"csrf_token": csrf})
    assert "delivered" in admin.get("/admin/webhooks/").get_data(as_text=True)
    assert len(receiver.requests) == 2


def test_suspend_and_terminate_emit_their_events(
    client, store, receiver, make_user, make_token, fund
):
    admin = make_token(make_user(role="admin"), ["admin:webhooks", "admin:services"])
    assert (
        _register(
            client, admin, receiver.url, ["service.suspended", "service.terminated"]
        ).status_code
        == 201
    )
    customer = make_user()
    fund(customer, 5000)
    sid = client.post(
        "/api/v1/servers",
        json={**store, "name": "e"},
        headers={**bearer(make_token(customer, ["write:servers"])), "Idempotency-Key": "e"},
    ).json["id"]
    client.post(
        f"/api/v1/admin/servers/{sid}/suspend", json={"reason": "abuse"}, headers=bearer(admin)
    )
    client.post(f"/api/v1/admin/servers/{sid}/terminate", json={}, headers=bearer(admin))
    events = [json.loads(body) for _, body in receiver.requests]
    assert [e["type"] for e in events] == ["service.suspended", "service.terminated"]
    assert events[0]["data"]["service"]["reason"] == "abuse"
    assert {e["data"]["service"]["id"] for e in events} == {sid}


def _add_deliveries(app, count: int) -> list[int]:
    """``count`` deliveries to two endpoints; their ids, newest first."""
    from kernel.extensions import db
    from kernel.webhooks.models import WebhookDelivery, WebhookEndpoint

    with app.app_context():
        endpoints = [
            WebhookEndpoint(
                url=f"https://hooks{n}.example/in",
                events=["user.created"],
                secret="x",
                active=False,
            )
            for n in range(2)
        ]
        db.session.add_all(endpoints)
        db.session.flush()
        rows = [
            WebhookDelivery(
                endpoint_id=endpoints[n % 2].id, event="user.created", event_id=f"e{n}", body="{}"
            )
            for n in range(count)
        ]
        db.session.add_all(rows)
        db.session.commit()
        ids = sorted((row.id for row in rows), reverse=True)
        db.session.remove()
        return ids


def test_the_delivery_log_pages_by_cursor(login_as, pteroca_instance):
    """The admin page's delivery log grows with every event (#20): cursor pages, the same
    statements at 20 and at 100 rows, every delivery reachable once, bad cursors a 400."""
    import re

    from kernel.testing import statements
    from tests.helpers import walk_pages

    app = pteroca_instance.app
    ids = _add_deliveries(app, 230)
    admin = login_as("admin")
    row = r'<tr id="delivery-(\d+)"'
    pages = walk_pages(admin, "/admin/webhooks/?per_page=40", row)
    assert [i for page in pages for i in page] == ids
    cost = {}
    for size in (20, 100):
        for cursor in ("", f"&before={ids[size]}"):
            admin.get(f"/admin/webhooks/?per_page={size}{cursor}")  # warm
            with statements(app) as seen:
                page = admin.get(f"/admin/webhooks/?per_page={size}{cursor}")
            assert len(re.findall(row, page.get_data(as_text=True))) == size
            cost[(size, bool(cursor))] = len(seen)
    assert cost[(20, False)] == cost[(100, False)] and cost[(20, True)] == cost[(100, True)], cost
    for bad in ("before=x", "after=-2", "per_page=500", "before=1&after=3", "before=%C2%B2"):
        refused = admin.get(f"/admin/webhooks/?{bad}")
        assert refused.status_code == 400, bad
        assert f'id="delivery-{ids[0]}"' in refused.get_data(as_text=True)  # the newest
