"""Registering endpoints, emitting events, delivering them with retries, replaying.

An event becomes one :class:`WebhookDelivery` per subscribed endpoint and an outbox job that
sends it (kernel/outbox.py: written with the deliveries, run after the commit). A delivery
that fails (no answer, not 2xx, a redirect, a refused address) is tried again later through
the outbox with growing waits (:data:`BACKOFF`), then marked ``failed``; an admin can replay
any delivery, which sends the same body again under a fresh signature. Deliveries older than
the ``webhook_delivery_retention_days`` site setting are deleted every night (:func:`prune`),
except those still waiting for an attempt.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import uuid
from datetime import datetime, timedelta

import httpx
from cryptography.fernet import Fernet, InvalidToken
from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from kernel import audit, outbox, site_settings
from kernel.clock import now
from kernel.extensions import db
from kernel.privacy.retention import BATCH, delete_older
from kernel.webhooks import signing, ssrf
from kernel.webhooks.models import WebhookDelivery, WebhookEndpoint

# Seconds before each retry; after the last one the delivery is failed (an admin can replay).
BACKOFF = (60, 300, 1800, 7200, 21600)
MAX_ATTEMPTS = len(BACKOFF) + 1
TIMEOUT = 10.0
KEPT_RESPONSE = 2000
# A delivery in one of these states still has an attempt coming: pruning never takes it.
WAITING = ("pending", "retrying")
KERNEL_EVENTS: dict[str, str] = {
    "user.created": _l("An account was created (sign-up, admin, API)"),
    "payment.settled": _l("A top-up was paid and credited"),
}


class WebhookError(ValueError):
    """An endpoint or event an admin got wrong; the message says what."""


def known_events() -> dict[str, str]:
    """The kernel's events and those of loaded plugins (``register_webhook_events``)."""
    from kernel.hooks import collect

    events = {name: str(description) for name, description in KERNEL_EVENTS.items()}
    for item in collect("register_webhook_events"):
        try:
            name, description = item
            events[str(name)] = str(description)
        except (TypeError, ValueError):
            continue
    return events


def _fernet() -> Fernet:
    key = hashlib.sha256(("pteroca-webhooks:" + current_app.config["SECRET_KEY"]).encode()).digest()
    return Fernet(base64.urlsafe_b64encode(key))


def secret_of(endpoint: WebhookEndpoint) -> str:
    try:
        return _fernet().decrypt(endpoint.secret.encode()).decode()
    except InvalidToken:  # SECRET_KEY changed: the endpoint needs a new secret
        return ""


def _check(url: str, events: list[str], allow_private: bool) -> tuple[str, list[str]]:
    url = (url or "").strip()
    if len(url) > 2000:
        raise WebhookError("keep the URL under 2000 characters")
    try:
        ssrf.resolve(url, allow_private=allow_private)
    except ssrf.Refused as exc:
        raise WebhookError(str(exc)) from None
    known = known_events()
    chosen = sorted(set(events))
    unknown = [e for e in chosen if e not in known]
    if unknown:
        raise WebhookError(f"unknown event {unknown[0]} (known: {', '.join(sorted(known))})")
    if not chosen:
        raise WebhookError("choose at least one event")
    return url, chosen


def create_endpoint(
    url: str, events: list[str], *, description: str = "", allow_private: bool = False, actor: str
) -> tuple[WebhookEndpoint, str]:
    """Register a receiver; returns it and its signing secret (shown once)."""
    url, chosen = _check(url, events, allow_private)
    secret = "whsec_" + secrets.token_urlsafe(32)
    endpoint = WebhookEndpoint(
        url=url,
        events=chosen,
        description=(description or "")[:255],
        secret=_fernet().encrypt(secret.encode()).decode(),
        active=True,
        allow_private=bool(allow_private),
        created_by=actor,
    )
    db.session.add(endpoint)
    db.session.flush()
    audit.record(
        "webhook.endpoint_created",
        f"webhook:{endpoint.id}",
        {"url": url, "events": chosen, "allow_private": bool(allow_private)},
        actor=actor,
        commit=False,
    )
    db.session.commit()
    return endpoint, secret


def delete_endpoint(endpoint: WebhookEndpoint, *, actor: str) -> None:
    audit.record(
        "webhook.endpoint_deleted",
        f"webhook:{endpoint.id}",
        {"url": endpoint.url},
        actor=actor,
        commit=False,
    )
    db.session.delete(endpoint)
    db.session.commit()


def emit(event: str, data: dict) -> list[int]:
    """Queue ``event`` for every active endpoint that wants it; returns the delivery ids.
    Called after the change it reports was committed: it commits its own rows then, and
    leaves them to the caller's transaction when that still has unsaved changes."""
    # Asked before the query below, whose autoflush would hide the caller's unsaved changes
    # (and this function would then commit the caller's transaction half done).
    caller_busy = bool(db.session.new or db.session.dirty or db.session.deleted)
    endpoints = [
        e
        for e in db.session.scalars(select(WebhookEndpoint).where(WebhookEndpoint.active.is_(True)))
        if event in (e.events or [])
    ]
    if not endpoints:
        return []
    event_id = f"evt_{uuid.uuid4().hex}"
    body = json.dumps(
        {
            "id": event_id,
            "type": event,
            "created": now().isoformat(timespec="seconds") + "Z",
            "data": data,
        },
        sort_keys=True,
        separators=(",", ":"),
        default=str,
    )
    rows = []
    for endpoint in endpoints:
        row = WebhookDelivery(
            endpoint_id=endpoint.id,
            event=event,
            event_id=event_id,
            body=body,
            status="pending",
            attempts=0,
            response_body="",
            error="",
        )
        db.session.add(row)
        db.session.flush()
        outbox.add(deliver, row.id)
        rows.append(row.id)
    if not caller_busy:
        outbox.commit()
    return rows


def _send(endpoint: WebhookEndpoint, body: bytes) -> httpx.Response:
    """POST to the checked address (never resolved twice), no redirects."""
    scheme, host, port = ssrf.parse(endpoint.url)
    address = ssrf.resolve(endpoint.url, allow_private=endpoint.allow_private)
    parts = httpx.URL(endpoint.url)
    target = parts.copy_with(host=address, port=port)
    secret = secret_of(endpoint)
    if not secret:
        raise ssrf.Refused(
            "the endpoint's secret cannot be read (SECRET_KEY changed); register the endpoint again"
        )
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "pteroca-webhooks",
        "Host": host if port in (80, 443) else f"{host}:{port}",
        signing.HEADER: signing.sign(secret, body),
    }
    extensions = {"sni_hostname": host} if scheme == "https" else {}
    with httpx.Client(timeout=TIMEOUT, follow_redirects=False) as client:
        request = client.build_request(
            "POST", target, content=body, headers=headers, extensions=extensions
        )
        return client.send(request)


def deliver(delivery_id: int) -> str:
    """Job: one attempt of one delivery; schedules the next on failure. Returns the status."""
    delivery = db.session.get(WebhookDelivery, delivery_id)
    if delivery is None or delivery.status == "delivered":
        return "gone" if delivery is None else delivery.status
    endpoint = delivery.endpoint
    delivery.attempts += 1
    delivery.last_attempt_at = now()
    delivery.response_code, delivery.response_body, delivery.error = None, "", ""
    db.session.commit()  # never hold a transaction over the receiver's HTTP call
    try:
        if not endpoint.active:
            raise ssrf.Refused("the endpoint is switched off")
        response = _send(endpoint, delivery.body.encode())
        delivery.response_code = response.status_code
        delivery.response_body = response.text[:KEPT_RESPONSE]
        if not 200 <= response.status_code < 300:
            redirect = " (redirects are not followed)" if 300 <= response.status_code < 400 else ""
            delivery.error = f"the receiver answered {response.status_code}{redirect}"
    except ssrf.Refused as exc:
        delivery.error = f"refused: {exc}"
    except (httpx.HTTPError, httpx.InvalidURL, OSError) as exc:
        delivery.error = f"{type(exc).__name__}: {exc}"[:KEPT_RESPONSE]
    if not delivery.error:
        delivery.status, delivery.next_attempt_at = "delivered", None
    elif delivery.attempts >= MAX_ATTEMPTS:
        delivery.status, delivery.next_attempt_at = "failed", None
    else:
        wait = BACKOFF[delivery.attempts - 1]
        delivery.status, delivery.next_attempt_at = "retrying", now() + timedelta(seconds=wait)
        outbox.add(deliver, delivery.id, delay=wait)
    outbox.commit()
    return delivery.status


def replay(delivery: WebhookDelivery, *, actor: str) -> WebhookDelivery:
    """Send a delivery again now (same body, fresh signature), whatever its status."""
    delivery.status, delivery.next_attempt_at = "pending", None
    if delivery.attempts >= MAX_ATTEMPTS:
        delivery.attempts = MAX_ATTEMPTS - 1  # one more try, and its retries if it fails
    audit.record(
        "webhook.replayed",
        f"webhook_delivery:{delivery.id}",
        {"event": delivery.event},
        actor=actor,
        commit=False,
    )
    outbox.add(deliver, delivery.id)
    outbox.commit()
    return db.session.get(WebhookDelivery, delivery.id)


def prune(at: datetime | None = None, batch: int = BATCH) -> int:
    """Cron task ``kernel.prune_webhook_deliveries``: delete deliveries older than the
    ``webhook_delivery_retention_days`` setting (0 keeps them forever), except those waiting
    for an attempt (a replayed old one included); returns how many went."""
    days = int(site_settings.get("webhook_delivery_retention_days") or 0)
    if days <= 0:
        return 0
    cutoff = (at or now()) - timedelta(days=days)
    return delete_older(WebhookDelivery, cutoff, batch, keep=WebhookDelivery.status.in_(WAITING))
