"""One attempt of the reconciler on one server: the panel calls, and what they came to.

:func:`attempt` runs outside any transaction (SQLite holds its single writer slot for a whole
transaction, and panel calls can take a minute): it reads the service, creates its server if it
was never created, asks the provisioner to converge, follows the first installation, and
returns an :class:`Outcome` for the reconciler to record (and for fulfilment.py to act on). It
never raises.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from flask import current_app

from builtin_plugins.store import fulfilment
from builtin_plugins.store.lifecycle import (
    FAILED,
    PANEL_ACTIVE,
    PANEL_DELETED,
    PANEL_SUSPENDED,
    PROVISIONING,
    TERMINATED,
)
from builtin_plugins.store.models import Service
from builtin_plugins.store.provisioning import (
    INSTALL_FAILED,
    INSTALLING,
    MISSING,
    Convergence,
    ProvisionError,
    provisioner_for,
)
from kernel import db
from kernel import now as utcnow

INSTALL_POLL = (2, 5, 10, 15, 30)  # seconds between looks at a running installation, then 60
POLL_UNTIL = (10, 30, 120, 300, 600)  # ...while it has run less than this many seconds
NOT_GIVEN = object()


@dataclass(frozen=True)
class Outcome:
    """``kind``: ok | waiting | failed | human. ``events`` (for fulfilment.follow), in order:
    created, installed, reinstalling, install_failed, create_failed."""

    kind: str
    panel_state: str = ""
    detail: str = ""
    delay: float = 0
    events: tuple[str, ...] = ()
    external_id: str = ""


def _describe(exc: BaseException) -> str:
    return str(exc) if isinstance(exc, ProvisionError) else f"{type(exc).__name__}: {exc}"


def attempt(service: Service, drivers: dict, observed=NOT_GIVEN) -> Outcome:
    """Bring ``service``'s panel toward its desired state once (see the module doc).
    ``observed``: what a listing of the panel already showed for it, passed to the
    provisioner's ``converge``."""
    try:
        driver = drivers.get(service.product_id)
        if driver is None:
            driver = drivers[service.product_id] = provisioner_for(service.product)
        db.session.commit()  # no transaction held over the panel calls
        if service.state == PROVISIONING:
            outcome = _create(service, driver)
        else:
            outcome = _settle(service, driver, observed)
        db.session.commit()  # what the provisioner noted (links to panel servers)
        return outcome
    except Exception as exc:  # noqa: BLE001 - any failure is a failed attempt, retried
        db.session.rollback()
        current_app.logger.warning("reconciling server %s: %s", service.id, _describe(exc))
        return Outcome("failed", detail=_describe(exc))


def _look(service: Service, driver, observed=NOT_GIVEN) -> Convergence:
    check = getattr(driver, "converge", None)
    if check is None:
        return _fallback(service, driver)
    return check(service) if observed is NOT_GIVEN else check(service, observed=observed)


# --- a server being created, then installed --------------------------------------------------


def _create(service: Service, driver) -> Outcome:
    created = service.external_id
    if not created:
        try:
            created = str(driver.create(service) or "") or f"{driver.identifier}-{service.id}"
        except Exception as exc:  # noqa: BLE001 - any creation failure refunds (fulfilment)
            db.session.rollback()
            return Outcome("ok", detail=_describe(exc), events=("create_failed",))
        db.session.commit()  # the provisioner may have linked the server
        service.external_id = created  # in memory: the install check below needs it
    if getattr(driver, "converge", None) is None:  # created is installed, for such a one
        return Outcome("ok", PANEL_ACTIVE, events=("created", "installed"), external_id=created)
    outcome = _installation(service, driver, driver.converge(service))
    return Outcome(
        outcome.kind,
        outcome.panel_state,
        outcome.detail,
        outcome.delay,
        ("created", *outcome.events),
        created,
    )


def _installation(service: Service, driver, found: Convergence) -> Outcome:
    """Where the first installation of a paid server stands (the customer sees it active and
    installing meanwhile)."""
    if found.panel_state == INSTALLING:
        started = fulfilment.install_started_at(service)
        waited = (utcnow() - started).total_seconds()
        if waited > timedelta(minutes=fulfilment.install_timeout_minutes()).total_seconds():
            return _install_failed(
                service,
                driver,
                "the installation did not finish within "
                f"{fulfilment.install_timeout_minutes()} minutes",
            )
        delay = next(
            (poll for poll, until in zip(INSTALL_POLL, POLL_UNTIL, strict=True) if waited < until),
            60,
        )
        return Outcome("waiting", INSTALLING, "installing", delay=delay)
    if found.panel_state == INSTALL_FAILED:
        return _install_failed(
            service,
            driver,
            "the installation failed" + (f" ({found.detail})" if found.detail else ""),
        )
    if found.panel_state == MISSING or found.needs_human:
        return Outcome(
            "human",
            found.panel_state,
            found.needs_human or f"server #{service.id} has no server in the panel",
        )
    return Outcome("ok", found.panel_state, events=("installed",))


def _install_failed(service: Service, driver, why: str) -> Outcome:
    if fulfilment.free_reinstall_left(service):
        driver.reinstall(service)  # a failure here is a failed attempt: tried again
        return Outcome(
            "waiting",
            INSTALLING,
            f"reinstalling: {why}",
            delay=INSTALL_POLL[0],
            events=("reinstalling",),
        )
    return Outcome("ok", INSTALL_FAILED, why, events=("install_failed",))


# --- a server that exists (or should not) -------------------------------------------------------


def _settle(service: Service, driver, observed=NOT_GIVEN) -> Outcome:
    desired = service.desired_state
    if desired == PANEL_DELETED and not service.external_id and service.state == FAILED:
        return Outcome("ok", PANEL_DELETED)  # its creation failed: nothing was made
    found = _look(service, driver, observed)
    if fulfilment.setting_up(service) and desired == PANEL_ACTIVE:
        return _installation(service, driver, found)
    if found.needs_human:
        return Outcome("human", found.panel_state, found.needs_human)
    state = found.panel_state
    if state in (INSTALLING, INSTALL_FAILED) and desired == PANEL_ACTIVE:
        return Outcome("ok", state)  # a reinstall the customer asked for: theirs to watch
    if state != desired:
        if state == MISSING:
            return Outcome(
                "human",
                MISSING,
                f"server #{service.id} should be {desired} but its server is gone from the panel",
            )
        return Outcome("failed", state, f"the panel shows {state or 'nothing'}, not {desired}")
    detail = f"repaired: {', '.join(found.repaired)}" if found.repaired else ""
    return Outcome("ok", state, detail)


def _fallback(service: Service, driver) -> Convergence:
    """For provisioners without ``converge``: the plain lifecycle calls the desired state asks
    for (each must be safe to repeat)."""
    desired = service.desired_state
    if desired == PANEL_SUSPENDED:
        driver.suspend(service)
    elif desired == PANEL_DELETED:
        if service.state in (TERMINATED, FAILED) and service.external_id:
            driver.terminate(service)
    elif service.panel_state == PANEL_SUSPENDED:
        driver.unsuspend(service)
    return Convergence(desired)
