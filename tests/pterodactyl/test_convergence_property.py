"""A property: whatever lifecycle events happen while the panel fails in whatever way, once the
faults clear and the reconciler has run, the panel, the services and the ledger agree.

Each example buys, expires, renews, suspends, unsuspends, deletes and renames servers, with
Wings going down, the panel answering 502, throttling or failing installs in between, and the
reconciler running now and then. Afterwards (faults cleared, the reconciler run to the end,
staff pressing Retry on servers that ran out of attempts): every live server is in the panel
as it should be (suspended or not, named as here), no ended server is; every service is in
sync; every balance equals its ledger; each service was bought once; a service that never got
its server has its money back, and one that did was never refunded.
"""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from builtin_plugins.store import reconciler, sweep
from builtin_plugins.store import services as store
from builtin_plugins.store.lifecycle import IllegalMove
from builtin_plugins.store.testing import buy
from kernel import clock
from kernel.extensions import db
from kernel.payments import ledger
from tests.pterodactyl.conftest import mismatches, panel_customer, panel_product, paper_settings
from tests.pterodactyl.conftest import settle as run_to_the_end

START = datetime(2026, 6, 1, 12, 0, 0)
PRICE = 1000
MOST = 3  # servers per example
FAULTS = ("wings_down", "http_502", "rate_limit", "install_failed")

# A customer with servers: a purchase first, then anything (purchases again among it).
events = st.tuples(
    st.just(("buy",)),
    st.lists(
        st.one_of(
            st.just(("buy",)),
            st.tuples(st.just("expire"), st.sampled_from((1, 29, 31, 40))),
            st.tuples(
                st.sampled_from(("renew", "suspend", "unsuspend", "terminate", "rename")),
                st.integers(0, MOST - 1),
            ),
            st.tuples(st.just("fault"), st.sampled_from(FAULTS)),
            st.just(("clear",)),
            st.just(("reconcile",)),
        ),
        min_size=3,
        max_size=14,
    ),
).map(lambda pair: [pair[0], *pair[1]])


def clear_faults(sim) -> None:
    sim.set_switches(wings_down=False, fail_next=[], rate_limit=0, install_result="success")


def inject(sim, fault: str) -> None:
    if fault == "wings_down":
        sim.set_switches(wings_down=True)
    elif fault == "http_502":
        sim.set_switches(fail_next={"count": 4, "status": 502, "path": "/api/application/servers*"})
    elif fault == "rate_limit":
        sim.set_switches(rate_limit={"count": 6, "retry_after": 1})
    else:
        sim.set_switches(install_result="failed")


def fresh_start() -> None:
    """Leave nothing of the previous example behind: its servers are deleted (through the
    store, so the panel frees their allocations); each example has its own customer."""
    from builtin_plugins.store.models import Service

    clock.reset()
    for service in db.session.scalars(
        db.select(Service).where(Service.state != "terminated")
    ).all():
        store.terminate(service, force=True)
    run_to_the_end(retry_stuck=True)
    clock.freeze(START)


def apply(event: tuple, sim, user, product, bought: list[int]) -> None:
    from builtin_plugins.store.models import Service

    kind = event[0]
    if kind == "buy":
        if len(bought) < MOST and ledger.balance(user.id) >= PRICE:
            bought.append(buy(user, product, name=f"box {len(bought)}").id)
        return
    if kind == "expire":
        clock.advance(timedelta(days=event[1]))
        sweep.run_lifecycle()
        sweep.run_cleanup()
        return
    if kind == "fault":
        inject(sim, event[1])
        return
    if kind == "clear":
        clear_faults(sim)
        return
    if kind == "reconcile":
        run_to_the_end(rounds=1)
        return
    if not bought:
        return
    service = db.session.get(Service, bought[event[1] % len(bought)])
    try:
        if kind == "renew":
            store.renew(service)
        elif kind == "suspend":
            store.suspend(service, manual=True, actor="staff@example.com")
        elif kind == "unsuspend":
            store.unsuspend(service, manual=True, actor="staff@example.com")
        elif kind == "terminate":
            store.terminate(service)
        else:
            store.rename(service, f"renamed {service.id} at {clock.now():%d%H%M}")
    except (store.StoreError, IllegalMove):  # refusals (a deleted server...) are part of life
        db.session.rollback()


def money_problems(user, bought: list[int]) -> list[str]:
    from builtin_plugins.store.models import Service
    from kernel.payments.models import LedgerEntry

    problems = [f"balance {violation}" for violation in ledger.invariant_violations()]
    entries = db.session.scalars(db.select(LedgerEntry).where(LedgerEntry.user_id == user.id)).all()
    for service_id in bought:
        service = db.session.get(Service, service_id)
        purchases = [e for e in entries if e.reference == f"purchase:{service_id}"]
        refunds = [e for e in entries if e.reference.startswith(f"provision-refund:{service_id}:")]
        if len(purchases) != 1:
            problems.append(f"#{service_id} bought {len(purchases)} times")
        got_a_server = service.state != "provisioning_failed"
        if not got_a_server and (
            sum(e.amount for e in purchases + refunds) != 0 or service.charged != 0
        ):
            problems.append(f"#{service_id} charged without a server")
        if got_a_server and refunds:
            problems.append(f"#{service_id} refunded though it got its server")
    return problems


@pytest.mark.usefixtures("ctx")
def test_the_panel_services_and_ledger_agree_after_any_faults(ptero_app, panel, sim):
    product = panel_product(paper_settings(panel), price=PRICE)
    numbers = itertools.count()
    sim.set_switches(application_rate_limit=100_000, client_rate_limit=100_000)

    @settings(
        max_examples=25,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(events)
    # The paths every run covers, whatever it draws besides:
    @example(
        [
            ("buy",),
            ("fault", "wings_down"),
            ("suspend", 0),
            ("reconcile",),
            ("clear",),
            ("unsuspend", 0),
        ]
    )
    @example(
        [
            ("buy",),
            ("buy",),
            ("expire", 31),
            ("fault", "wings_down"),
            ("renew", 1),
            ("fault", "http_502"),
            ("terminate", 0),
        ]
    )
    @example(
        [
            ("buy",),
            ("fault", "install_failed"),
            ("buy",),
            ("fault", "rate_limit"),
            ("rename", 0),
            ("expire", 40),
            ("expire", 40),
        ]
    )
    def check(sequence):
        fresh_start()
        user = panel_customer(f"p{next(numbers)}@example.com", balance=8 * PRICE)
        bought: list[int] = []
        try:
            for event in sequence:
                apply(event, sim, user, product, bought)
            clear_faults(sim)
            run_to_the_end(rounds=20, retry_stuck=True)
            db.session.expire_all()
            assert mismatches(sim, bought) == [], sequence
            assert money_problems(user, bought) == [], sequence
            assert reconciler.counts() == {}, sequence
        finally:
            clear_faults(sim)
            clock.reset()

    check()
