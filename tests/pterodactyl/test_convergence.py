"""Faults injected into the simulated panel during lifecycle changes: after the fault clears and
the reconciler runs, the panel, the services and the ledger agree (no double charge, no charge
without a server)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from builtin_plugins.pterodactyl import links
from builtin_plugins.store import reconciler, sweep
from builtin_plugins.store import services as store
from builtin_plugins.store.models import Service, SyncAttempt
from builtin_plugins.store.testing import buy
from kernel import clock
from kernel.extensions import db
from kernel.mail import EmailLog
from kernel.models import AuditLog
from kernel.payments import ledger
from kernel.testing import TEST_PASSWORD, login
from tests.pterodactyl.conftest import (
    mismatches,
    panel_customer,
    panel_product,
    paper_settings,
    settle,
)

START = datetime(2026, 3, 1, 12, 0, 0)
DAY = timedelta(days=1)


@pytest.fixture(autouse=True)
def frozen():
    clock.freeze(START)
    yield
    clock.reset()


def store_setting(app, **values) -> None:
    from kernel.plugins.settings import set_settings

    set_settings(app.extensions["pteroca"].discovered["store"].manifest, values)


def count(model, *where) -> int:
    return db.session.scalar(db.select(db.func.count()).select_from(model).where(*where)) or 0


def refresh(service) -> Service:
    db.session.expire_all()
    return db.session.get(Service, service.id)


def status_in_panel(sim, service) -> str | None:
    return sim.server(links.server_link(service.id).server_id).status


# --- Wings down during suspend, unsuspend and delete ----------------------------------------


def test_wings_down_during_the_sweep_suspends_once_wings_is_back(ctx, panel, sim):
    product = panel_product(paper_settings(panel), price=1000)
    user = panel_customer(balance=5000)
    bought = [buy(user, product, name=f"srv {n}") for n in range(2)]
    clock.advance(31 * DAY)
    sim.set_switches(wings_down=True)
    result = sweep.run_lifecycle()
    assert sorted(result.suspended) == [s.id for s in bought]
    for service in bought:
        service = refresh(service)
        assert (service.state, service.desired_state) == ("suspended", "suspended")
        assert service.sync_status == "pending" and service.sync_attempts == 1
        assert "Daemon" in service.sync_error or "node" in service.sync_error
        assert status_in_panel(sim, service) is None  # still running in the panel
    assert mismatches(sim)
    settle(rounds=2)  # still down: more failed attempts, with backoff
    assert refresh(bought[0]).sync_attempts >= 2
    sim.set_switches(wings_down=False)
    settle()
    assert mismatches(sim) == []
    assert {status_in_panel(sim, s) for s in bought} == {"suspended"}
    # one audit row and one email per server, although the push was tried several times
    assert count(AuditLog, AuditLog.action == "store.suspended") == 2
    assert count(EmailLog, EmailLog.template == "store/server_suspended") == 2
    outcomes = db.session.scalars(
        db.select(SyncAttempt.outcome)
        .where(SyncAttempt.service_id == bought[0].id)
        .order_by(SyncAttempt.id)
    ).all()
    assert outcomes[-1] == "ok" and "failed" in outcomes


def test_wings_down_during_an_unsuspension_unsuspends_later(ctx, panel, sim):
    product = panel_product(paper_settings(panel), price=1000)
    user = panel_customer(balance=1000)
    service = buy(user, product)
    clock.advance(31 * DAY)
    sweep.run_lifecycle()
    assert status_in_panel(sim, service) == "suspended"
    ledger.credit(user.id, 1000, "adjustment", "top-up")
    sim.set_switches(wings_down=True)
    service = store.renew(refresh(service))  # paid: never refused for the panel
    assert service.state == "active" and service.sync_status == "pending"
    assert status_in_panel(sim, service) == "suspended"
    sim.set_switches(wings_down=False)
    settle()
    assert status_in_panel(sim, service) is None and mismatches(sim) == []
    assert ledger.balance(user.id) == 0 == ledger.ledger_sum(user.id)


def test_a_delete_the_panel_refuses_is_retried_and_wings_down_is_forced(ctx, panel, sim):
    product = panel_product(paper_settings(panel))
    user = panel_customer()
    refused, forced = buy(user, product, name="refused"), buy(user, product, name="forced")
    refused_server = links.server_link(refused.id).server_id
    sim.set_switches(
        fail_next={
            "count": 20,
            "status": 502,
            "method": "DELETE",
            "path": f"/api/application/servers/{refused_server}*",
        }
    )
    service = store.terminate(refused)
    assert service.state == "terminated" and service.sync_status == "pending"
    assert sim.server(refused_server)  # still in the panel
    sim.set_switches(fail_next=[])
    settle()
    with pytest.raises(KeyError):
        sim.server(refused_server)
    forced_server = links.server_link(forced.id).server_id
    sim.set_switches(wings_down=True)  # the panel forgets the server without Wings (force)
    assert store.terminate(forced).sync_status == "ok"
    with pytest.raises(KeyError):
        sim.server(forced_server)
    assert mismatches(sim) == []


def test_attempts_are_bounded_then_staff_are_alerted_and_can_retry_or_accept(
    ptero_app, ctx, panel, sim
):
    from tests.helpers import make_user

    make_user("staff@example.com", role="admin")
    product = panel_product(paper_settings(panel))
    user = panel_customer()
    stuck, accepted = buy(user, product, name="stuck"), buy(user, product, name="accepted")
    sim.set_switches(wings_down=True)
    store.suspend(stuck, manual=True)
    store.suspend(accepted, manual=True)
    settle(rounds=reconciler.MAX_ATTEMPTS + 2)
    for service in (stuck, accepted):
        service = refresh(service)
        assert service.sync_status == "stuck"
        assert service.sync_attempts == reconciler.MAX_ATTEMPTS
    alerts = db.session.scalars(
        db.select(EmailLog).where(EmailLog.template == "store/staff_alert")
    ).all()
    assert {a.recipient for a in alerts} == {"staff@example.com"} and len(alerts) == 2
    assert count(AuditLog, AuditLog.action == "store.alert") == 2
    from kernel.testing import HEALTH_HEADERS

    health = ptero_app.test_client().get("/-/health", headers=HEALTH_HEADERS).get_json()
    assert "store" in health["degraded"]
    assert "2 server(s) stuck" in health["plugin_health"]["store"]["servers in sync"]

    client = ptero_app.test_client()
    login(client, "staff@example.com", "correct horse battery")
    page = client.get("/admin/store/sync/").get_data(as_text=True)
    assert f'data-server="{stuck.id}"' in page and f'data-server="{accepted.id}"' in page
    assert "stuck" in page and str(reconciler.MAX_ATTEMPTS) in page
    sim.set_switches(wings_down=False)
    retried = client.post("/admin/store/sync/retry", data={"service_id": stuck.id})
    assert retried.status_code == 303
    accept = client.post("/admin/store/sync/accept", data={"service_id": accepted.id})
    assert accept.status_code == 303
    assert (refresh(stuck).sync_status, status_in_panel(sim, stuck)) == ("ok", "suspended")
    assert refresh(accepted).sync_status == "accepted"
    assert status_in_panel(sim, accepted) is None  # left as it is, as staff decided
    page = client.get("/admin/store/sync/").get_data(as_text=True)
    assert 'id="all-in-sync"' in page
    detail = client.get(f"/admin/store/servers/{stuck.id}").get_data(as_text=True)
    assert 'id="sync-history"' in detail and "failed" in detail
    assert count(AuditLog, AuditLog.action.in_(("store.sync_retry", "store.sync_accepted"))) == 2
    assert client.post("/admin/store/sync/retry", data={"service_id": 99999}).status_code == 404
    for hostile in (2**31, 10**30, -1, "1e9", "x"):  # beyond a database integer, or no number
        assert (
            client.post("/admin/store/sync/accept", data={"service_id": hostile}).status_code == 404
        )


# --- installs ------------------------------------------------------------------------------


def test_a_failed_install_is_refunded_under_the_refund_policy(ptero_app, ctx, panel, sim):
    from tests.helpers import make_user

    make_user("staff@example.com", role="admin")
    store_setting(ptero_app, install_failure="refund")
    sim.set_switches(install_result="failed")
    product = panel_product(paper_settings(panel), price=1500)
    user = panel_customer(balance=2000)
    service = refresh(buy(user, product, name="Doomed"))
    assert service.state == "provisioning_failed" and service.charged == 0
    assert service.options["failure"] == "install" and "installation failed" in service.last_error
    assert ledger.balance(user.id) == 2000 == ledger.ledger_sum(user.id)  # no charge...
    assert panel_view_count(sim) == 0  # ...and no server: the failed one was deleted
    assert mismatches(sim) == []
    assert count(EmailLog, EmailLog.template == "store/install_failed") == 1
    assert count(EmailLog, EmailLog.template == "store/staff_alert") == 1
    client = ptero_app.test_client()
    login(client, "buyer@example.com", TEST_PASSWORD)
    page = client.get(f"/servers/{service.id}").get_data(as_text=True)
    assert "Installation failed" in page and "refunded" in page
    # staff retry with the panel fixed: charged once more, installed, active
    sim.set_switches(install_result="success")
    retried = store.retry_provisioning(service, charge=True)
    assert retried.state == "active" and ledger.balance(user.id) == 500
    assert mismatches(sim) == [] and panel_view_count(sim) == 1


def test_a_failed_install_is_reinstalled_once_for_free_then_refunded(ptero_app, ctx, panel, sim):
    sim.set_switches(install_result="failed")
    product = panel_product(paper_settings(panel), price=1500)
    user = panel_customer(balance=5000)
    lucky = refresh(buy(user, product, name="Lucky"))
    assert lucky.state == "active" and lucky.options["reinstalls"] == 1
    assert lucky.options["setup"] == "installing" and lucky.panel_state == "installing"
    assert ledger.balance(user.id) == 3500
    assert count(EmailLog, EmailLog.template == "store/install_retrying") == 1
    sim.set_switches(install_result="success")  # the reinstall works
    settle()
    lucky = refresh(lucky)
    assert lucky.state == "active" and "setup" not in lucky.options
    assert ledger.balance(user.id) == 3500
    assert count(EmailLog, EmailLog.template == "store/server_purchased") == 1
    sim.set_switches(install_result="failed")
    unlucky = buy(user, product, name="Unlucky")
    settle()  # the free reinstall fails too: refunded
    unlucky = refresh(unlucky)
    assert unlucky.state == "provisioning_failed" and unlucky.options["reinstalls"] == 1
    assert ledger.balance(user.id) == 3500 == ledger.ledger_sum(user.id)
    assert mismatches(sim) == [] and panel_view_count(sim) == 1


def test_an_install_that_never_ends_times_out_into_the_policy(ptero_app, ctx, panel, sim):
    store_setting(ptero_app, install_failure="refund", install_timeout_minutes=1)
    sim.set_switches(install_seconds=3600)
    product = panel_product(paper_settings(panel), price=700)
    user = panel_customer(balance=700)
    service = refresh(buy(user, product))
    assert service.state == "active" and service.panel_state == "installing"
    assert service.options["setup"] == "installing" and service.sync_status == "pending"
    assert reconciler.run_due(grace=0) == {}  # it waits for the next look, not a failure
    db.session.execute(db.update(Service).values(created_at=clock.now() - timedelta(minutes=2)))
    db.session.commit()
    settle()
    service = refresh(service)
    assert service.state == "provisioning_failed" and "did not finish" in service.last_error
    assert ledger.balance(user.id) == 700 and mismatches(sim) == []


def test_a_server_page_shows_installing_until_the_install_ends(ptero_app, ctx, panel, sim):

    sim.set_switches(install_seconds=3600)
    product = panel_product(paper_settings(panel))
    service = buy(panel_customer(balance=5000), product)
    client = ptero_app.test_client()
    login(client, "buyer@example.com", TEST_PASSWORD)
    page = client.get(f"/servers/{service.id}").get_data(as_text=True)
    assert "Installing" in page and "being installed" in page  # live state and notice
    assert count(EmailLog, EmailLog.template == "store/server_purchased") == 0  # not yet
    sim.finish_install(links.server_link(service.id).server_id, True)
    settle()
    service = refresh(service)
    assert service.state == "active" and "setup" not in service.options
    assert count(EmailLog, EmailLog.template == "store/server_purchased") == 1
    assert "being installed" not in client.get(f"/servers/{service.id}").get_data(as_text=True)


def test_a_create_the_panel_refuses_is_refunded_at_once(ctx, panel, sim):
    sim.set_switches(no_allocations=True)
    product = panel_product(paper_settings(panel), price=900)
    user = panel_customer(balance=900)
    service = refresh(buy(user, product))
    assert service.state == "provisioning_failed" and service.options["failure"] == "create"
    assert ledger.balance(user.id) == 900 and panel_view_count(sim) == 0
    assert mismatches(sim) == []


def panel_view_count(sim) -> int:
    return len(sim.snapshot()["servers"])


# --- 429 storms ----------------------------------------------------------------------------


def test_a_429_storm_during_the_sweep_converges_after_it(ctx, panel, sim, sleeps):
    product = panel_product(paper_settings(panel))
    user = panel_customer()
    bought = [buy(user, product, name=f"s{n}") for n in range(4)]
    clock.advance(31 * DAY)
    sim.set_switches(rate_limit={"count": 40, "retry_after": 2})
    sweep.run_lifecycle()
    assert any(refresh(s).sync_status == "pending" for s in bought)
    assert all(wait <= 30 for wait in sleeps)  # Retry-After honoured, never longer
    sim.set_switches(rate_limit=0)
    settle()
    assert mismatches(sim) == [] and {status_in_panel(sim, s) for s in bought} == {"suspended"}


def test_pages_inside_a_throttle_window_say_wait_instead_of_sending(ptero_app, ctx, panel, sim):
    from tests.helpers import make_user

    make_user("staff@example.com", role="admin")
    client = ptero_app.test_client()
    login(client, "staff@example.com", "correct horse battery")
    sim.set_switches(rate_limit={"count": 1, "retry_after": 40})
    first = client.get("/admin/pterodactyl/eggs")
    assert first.status_code == 502 and "try again in 40 s" in first.get_data(as_text=True)
    sent = len(sim.requests)
    again = client.get("/admin/pterodactyl/eggs")  # the window is open: nothing is sent
    assert "the panel is busy" in again.get_data(as_text=True) and len(sim.requests) == sent
    picker = client.get("/admin/pterodactyl/api/nests")
    assert picker.status_code == 502 and "try again in" in picker.get_json()["error"]
    assert len(sim.requests) == sent


# --- the customer's pages say the same thing ------------------------------------------------


def test_the_overview_and_the_list_show_the_friendly_message_when_wings_is_down(
    ptero_app, ctx, panel, sim
):

    service = buy(panel_customer(balance=5000), panel_product(paper_settings(panel)))
    sim.set_switches(wings_down=True)
    client = ptero_app.test_client()
    login(client, "buyer@example.com", TEST_PASSWORD)
    for url in (f"/servers/{service.id}", "/servers"):
        page = client.get(url).get_data(as_text=True)
        assert "node is unreachable right now" in page, url
        assert "DaemonConnectionException" not in page and "HTTP 5" not in page
    console = client.get(f"/servers/{service.id}/console")
    assert "DaemonConnectionException" not in console.get_data(as_text=True)


# --- rename --------------------------------------------------------------------------------


def test_rename_updates_the_panel_name_and_the_products_description(ctx, panel, sim):
    plain = panel_product(paper_settings(panel), slug="plain")
    described = panel_product(
        paper_settings(panel, panel_description="{name} (order #{id})"), slug="described"
    )
    user = panel_customer()
    first, second = buy(user, plain, name="Old"), buy(user, described, name="Old too")
    server = sim.server(links.server_link(second.id).server_id)
    assert server.description == f"Old too (order #{second.id})"
    store.rename(first, "New name")
    store.rename(second, "Renamed")
    assert sim.server(links.server_link(first.id).server_id).name == "New name"
    assert (
        sim.server(links.server_link(first.id).server_id).description
        == f"pteroca service #{first.id}"
    )  # no template: left alone
    server = sim.server(links.server_link(second.id).server_id)
    assert (server.name, server.description) == ("Renamed", f"Renamed (order #{second.id})")
    sim.set_switches(
        fail_next={
            "count": 5,
            "status": 502,
            "method": "PATCH",
            "path": "/api/application/servers/*/details",
        }
    )
    store.rename(refresh(first), "Later")
    assert refresh(first).sync_status == "pending"
    sim.set_switches(fail_next=[])
    settle()
    assert sim.server(links.server_link(first.id).server_id).name == "Later"
    assert mismatches(sim) == []
    assert count(AuditLog, AuditLog.action == "store.renamed") == 3


def test_only_store_staff_see_and_act_on_the_out_of_sync_page(ptero_app, ctx, panel, sim):
    from tests.helpers import make_user

    make_user("helper@example.com", role="customer")
    service = buy(panel_customer(balance=5000), panel_product(paper_settings(panel)))
    sim.set_switches(wings_down=True)
    store.suspend(service, manual=True)
    client = ptero_app.test_client()
    login(client, "helper@example.com", "correct horse battery")
    assert client.get("/admin/store/sync/").status_code in (302, 403)
    for action in ("retry", "accept"):
        refused = client.post(f"/admin/store/sync/{action}", data={"service_id": service.id})
        assert refused.status_code in (302, 403)
    assert refresh(service).sync_status == "pending"  # untouched
    make_user("staff@example.com", role="admin")
    staff = ptero_app.test_client()
    login(staff, "staff@example.com", "correct horse battery")
    for bad in ("", "abc", "-1", "1 OR 1=1", "999999"):
        assert staff.post("/admin/store/sync/accept", data={"service_id": bad}).status_code == 404
    assert refresh(service).sync_status == "pending"
