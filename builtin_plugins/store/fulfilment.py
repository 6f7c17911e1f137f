"""Delivering what a customer paid for: the new server's creation and installation, and the
money when they fail.

A purchase charges the wallet and leaves the service ``provisioning`` with the desired panel
state ``active``; the reconciler creates the server and follows its first installation
(attempts.py). Its outcomes land here, in the reconciler's transaction:

- created: the service becomes ``active`` (its pages show the panel's "installing"), marked
  as setting up (``options["setup"]``) until the installation is over;
- installed: the mark goes, the customer gets "Your server is ready" (``server_purchased``);
- the creation failed (the provisioner refused or could not be reached): the period is refunded
  through a compensating ledger entry, the service is ``provisioning_failed`` with the reason,
  staff are alerted and the customer is told; anything the panel kept is deleted;
- the installation failed (or ran longer than the store's ``install_timeout_minutes``): the
  store setting ``install_failure`` decides. ``reinstall_then_refund`` (the default) reinstalls
  once for free, telling the customer, and refunds if that fails too; ``refund`` refunds at
  once. A refund ends as a failed creation does.

Never a charge without a server: a service is either being set up, active with its server, or
failed with its period refunded. Staff retry a failed one (:func:`retry_provisioning`),
charging again or not.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from flask import current_app

from builtin_plugins.store import alerts, lifecycle, notify
from builtin_plugins.store.desired import want
from builtin_plugins.store.errors import StoreError
from builtin_plugins.store.lifecycle import ACTIVE, FAILED, PROVISIONING
from builtin_plugins.store.models import Service
from builtin_plugins.store.pricing import next_expiry
from builtin_plugins.store.wallet import billed, lock_wallet
from kernel import (
    InsufficientFunds,
    call_hook,
    db,
    format_amount,
    ledger_credit,
    ledger_debit,
    outbox_dispatch_committed,
    record_audit,
    settings_for,
    site_setting,
)
from kernel import (
    now as utcnow,
)

POLICIES = ("reinstall_then_refund", "refund")
FREE_REINSTALLS = 1


def install_failure_policy() -> str:
    policy = settings_for("store").get("install_failure") or POLICIES[0]
    return policy if policy in POLICIES else POLICIES[0]


def install_timeout_minutes() -> int:
    return max(1, int(settings_for("store").get("install_timeout_minutes") or 120))


def install_started_at(service: Service) -> datetime:
    """When the current installation began: the last free reinstall, else the order."""
    stamp = (service.options or {}).get("reinstall_at")
    return datetime.fromisoformat(stamp) if stamp else service.created_at


def free_reinstall_left(service: Service) -> bool:
    return (
        install_failure_policy() == "reinstall_then_refund"
        and int((service.options or {}).get("reinstalls", 0)) < FREE_REINSTALLS
    )


def setting_up(service: Service) -> bool:
    """Created and paid, its first installation not yet over (the customer sees it active and
    installing)."""
    return (service.options or {}).get("setup") == "installing"


def follow(service: Service, outcome) -> tuple[bool, list[Callable[[], None]]]:
    """Apply a reconciler outcome's events to the service (caller's transaction).

    Returns (the state moved, what to run after the commit: events and wallet notices)."""
    moved, after = False, []
    for event in outcome.events:
        if event == "created" and service.state == PROVISIONING:
            lifecycle.check(service.id, service.state, ACTIVE)
            service.state, service.last_error = ACTIVE, ""
            service.options = {**(service.options or {}), "setup": "installing"}
            record_audit(
                "store.provisioned",
                f"service:{service.id}",
                {"panel": outcome.external_id or service.external_id},
                actor="system",
                commit=False,
            )
            moved = True
        elif event == "installed" and setting_up(service):
            after += _installed(service)
        elif event == "reinstalling" and setting_up(service):
            reinstalled = int((service.options or {}).get("reinstalls", 0)) + 1
            service.options = {
                **(service.options or {}),
                "reinstalls": reinstalled,
                "reinstall_at": utcnow().isoformat(),
            }
            record_audit(
                "store.reinstalling",
                f"service:{service.id}",
                {"why": outcome.detail},
                actor="system",
                commit=False,
            )
            notify.customer(service, "install_retrying")
        elif (event == "install_failed" and setting_up(service)) or (
            event == "create_failed" and service.state == PROVISIONING
        ):
            after += _refund_and_fail(service, outcome.detail, event)
            moved = True
    return moved, after


def _installed(service: Service) -> list[Callable[[], None]]:
    service.options = {
        k: v for k, v in (service.options or {}).items() if k not in ("setup", "reinstall_at")
    }
    record_audit("store.installed", f"service:{service.id}", actor="system", commit=False)
    notify.customer(service, "server_purchased")
    service_id = service.id
    return [lambda: _event("server_purchased", service_id)]


def _refund_and_fail(service: Service, why: str, event: str) -> list[Callable[[], None]]:
    options = service.options or {}
    attempt = int(options.get("attempts", 0)) + 1
    refunded = service.charged
    posted = None
    if refunded:
        posted = ledger_credit(
            service.user_id,
            refunded,
            "refund",
            f"provision-refund:{service.id}:{attempt}",
            {"service": service.id, "server": service.name, "why": event},
            commit=False,
        )
    lifecycle.check(service.id, service.state, FAILED)
    service.state, service.charged, service.last_error = FAILED, 0, why
    service.options = {
        **{k: v for k, v in options.items() if k != "setup"},
        "attempts": attempt,
        "failure": "install" if event == "install_failed" else "create",
    }
    want(service)  # nothing may stay behind in the panel
    record_audit(
        "store.provisioning_failed",
        f"service:{service.id}",
        {"error": why, "refunded": refunded, "failure": service.options["failure"]},
        actor="system",
        commit=False,
    )
    notify.customer(
        service,
        "install_failed",
        refunded=format_amount(refunded, site_setting("currency")) if refunded else "",
    )
    alerts.staff(
        [service.id],
        "A server could not be set up",
        f"server #{service.id} ({service.name}): {why}. "
        + ("The customer's payment was refunded." if refunded else "Nothing was charged."),
    )
    current_app.logger.warning("provisioning service %s failed: %s", service.id, why)
    return [lambda: billed(service, posted)] if posted else []


def _event(name: str, service_id: int) -> None:
    service = db.session.get(Service, service_id)
    if service is not None:
        call_hook(name, service=service)


def retry_provisioning(
    service: Service, *, charge: bool = True, actor: str | None = None
) -> Service:
    """Admin: set a failed service up again, charging the period again unless ``charge`` is off."""
    lifecycle.check(service.id, service.state, PROVISIONING)
    attempt = int((service.options or {}).get("attempts", 0))
    posted = None
    lock_wallet(service.user_id)
    if charge and service.price > 0:
        try:
            posted = ledger_debit(
                service.user_id,
                service.price,
                "purchase",
                f"purchase:{service.id}:retry{attempt}",
                {"service": service.id, "server": service.name},
                commit=False,
            )
        except InsufficientFunds:
            db.session.rollback()
            raise StoreError(
                "the customer's balance cannot cover the order; retry without "
                "charging or ask them to top up"
            ) from None
    service.state, service.charged = PROVISIONING, service.price if posted else 0
    service.expires_at = next_expiry(None, utcnow(), service.plan)
    service.external_id, service.panel_state = "", ""
    service.options = {
        k: v
        for k, v in (service.options or {}).items()
        if k not in ("reinstalls", "reinstall_at", "failure", "setup")
    }
    want(service)
    record_audit(
        "store.retry", f"service:{service.id}", {"charge": charge}, actor=actor, commit=False
    )
    service_id = service.id
    db.session.commit()
    service = db.session.get(Service, service_id)
    if posted:
        billed(service, posted)  # billed before its job runs (inline, the job may refund it)
    outbox_dispatch_committed()
    return db.session.get(Service, service_id)
