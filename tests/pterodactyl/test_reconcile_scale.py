"""Reconcile at fleet scale: services read a listing page at a time (one query each), servers
that are as they should be cost no write, and the statement count grows with pages, not
servers."""

from __future__ import annotations

from contextlib import contextmanager

from sqlalchemy import event

from kernel.extensions import db
from tests.pterodactyl.conftest import panel_customer, panel_product, paper_settings, seed_fleet

FLEET_LIMITS = {
    "memory": 0,
    "disk": 0,
    "io": 500,
    "cpu": 100,
    "databases": 0,
    "allocations": 1,
    "backups": 0,
}


@contextmanager
def statements():
    """Reconcile's own SQL. The request budget's token takes (PostgreSQL without Redis: one
    UPDATE per panel request, on a connection of its own, never in reconcile's transaction)
    are counted apart in ``BUDGET`` (tests/pterodactyl/test_budget.py pins them)."""
    seen: list[str] = []
    engine = db.engine
    BUDGET.clear()

    def note(conn, cursor, statement, *args):
        text = " ".join(statement.split())
        (BUDGET if "pterodactyl_request_budget" in text else seen).append(text)

    event.listen(engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", note)


BUDGET: list[str] = []


def fleet(panel, sim, count: int) -> list[int]:
    product = panel_product(paper_settings(panel, **FLEET_LIMITS), slug="fleet", price=100)
    return seed_fleet(sim, product, panel_customer(email="fleet@example.com", balance=0), count)


def test_an_in_sync_fleet_costs_one_query_per_page_and_no_write(ctx, panel, sim):
    from builtin_plugins.pterodactyl.reconcile import PAGE, reconcile

    count = 2 * PAGE + PAGE // 2
    ids = fleet(panel, sim, count)
    with statements() as seen:
        report = reconcile()
    assert report.checked == count and report.findings == [] and report.repaired == {}
    writes = [s for s in seen if s.split()[0] in ("INSERT", "UPDATE", "DELETE")]
    cursor = [s for s in writes if "pterodactyl_run_cursor" in s]
    assert [s for s in writes if s not in cursor] == []
    # the resume cursor: saved after each of the first two pages, cleared after the last
    assert [s.split()[0] for s in cursor] == ["INSERT", "INSERT", "DELETE"]
    pages = [s for s in seen if "FROM store_service" in s and "pterodactyl_server" in s]
    assert len(pages) == 3  # PAGE + PAGE + PAGE / 2
    # settings, the cursor, products, three pages, their cursors (and, on SQLite, the
    # transaction each commit of a cursor ends): at most 3 statements per 100 servers
    assert len(seen) <= 3 * count / 100, "\n".join(seen)
    # the budget (PostgreSQL): a token per listing page, plus making the bucket on first use
    assert len(BUDGET) <= 3 * 2
    assert ids


def test_statements_grow_with_pages_not_servers(ctx, panel, sim):
    from builtin_plugins.pterodactyl.reconcile import PAGE, reconcile

    fleet(panel, sim, PAGE + PAGE // 5)
    with statements() as small:
        reconcile()
    product = panel_product(paper_settings(panel, **FLEET_LIMITS), slug="fleet-2", price=100)
    seed_fleet(sim, product, panel_customer(email="more@example.com", balance=0), PAGE // 2)
    with statements() as large:  # more servers: still two pages
        reconcile()
    assert len(small) == len(large), (
        "\n".join(s[:60] for s in small) + "\n---\n" + "\n".join(s[:60] for s in large)
    )


def test_only_the_drifted_server_is_converged_and_written(ctx, panel, sim):
    from builtin_plugins.pterodactyl import links
    from builtin_plugins.pterodactyl.reconcile import reconcile
    from builtin_plugins.store.models import Service

    ids = fleet(panel, sim, 150)
    drifted = ids[120]
    server_id = links.server_link(drifted).server_id
    panel.app.suspend_server(server_id)
    panel.app.update_server_details(links.server_link(ids[3]).server_id, name="renamed there")
    with statements() as seen:
        report = reconcile()
    assert set(report.repaired) == {drifted, ids[3]}
    assert sim.state.servers[server_id].status != "suspended"
    assert sim.state.servers[links.server_link(ids[3]).server_id].name == "server 3"
    updated = {s for s in seen if s.startswith("UPDATE store_service")}
    assert updated and all("store_service" in s for s in updated)
    # the 148 servers in line were not touched: their sync version is unchanged
    versions = dict(db.session.execute(db.select(Service.id, Service.sync_version)).all())
    assert {versions[i] for i in ids if i not in (drifted, ids[3])} == {versions[ids[0]]}


def test_a_flag_is_still_cleared_when_the_panel_is_put_back_by_hand(ctx, panel, sim):
    from builtin_plugins.pterodactyl import links
    from builtin_plugins.pterodactyl.reconcile import FLAG_PREFIX, reconcile
    from builtin_plugins.store.models import Service

    ids = fleet(panel, sim, 5)
    service = db.session.get(Service, ids[2])
    service.last_error = FLAG_PREFIX + "resized in the panel: memory 0 -> 512"
    links.server_link(ids[2]).drift = "resized in the panel: memory 0 -> 512"
    db.session.commit()
    report = reconcile()
    assert report.cleared == [ids[2]]
    assert db.session.get(Service, ids[2]).last_error == ""
    assert links.server_link(ids[2]).drift == ""


def test_dry_run_reads_pages_and_writes_nothing(ctx, panel, sim):
    from builtin_plugins.pterodactyl import links
    from builtin_plugins.pterodactyl.reconcile import reconcile

    ids = fleet(panel, sim, 130)
    panel.app.suspend_server(links.server_link(ids[7]).server_id)
    with statements() as seen:
        report = reconcile(dry_run=True)
    assert [f.kind for f in report.findings] == ["suspended"]
    assert not [s for s in seen if s.split()[0] in ("INSERT", "UPDATE", "DELETE")]


def test_the_admin_drift_page_is_paged(ptero_app, panel, sim):
    from builtin_plugins.pterodactyl.admin import FLAGGED_PAGE
    from builtin_plugins.pterodactyl.models import ServerLink
    from kernel import now as utcnow
    from kernel.testing import login
    from tests.helpers import PASSWORD, make_user

    with ptero_app.app_context():
        ids = fleet(panel, sim, FLAGGED_PAGE + 7)
        db.session.execute(
            db.update(ServerLink)
            .where(ServerLink.service_id.in_(ids))
            .values(drift="deleted in the panel", drift_at=utcnow())
        )
        db.session.commit()
        make_user("boss@example.com", role="admin")
    client = ptero_app.test_client()
    login(client, "boss@example.com", PASSWORD)
    first = client.get("/admin/pterodactyl/").text
    assert first.count("deleted in the panel</td>") == FLAGGED_PAGE
    assert f"{FLAGGED_PAGE + 7} flagged; page 1 of 2" in first
    second = client.get("/admin/pterodactyl/?flagged_page=2").text
    assert second.count("deleted in the panel</td>") == 7 and "page 2 of 2" in second
    beyond = client.get("/admin/pterodactyl/?flagged_page=99")
    assert beyond.status_code == 200 and "page 2 of 2" in beyond.text
    assert client.get("/admin/pterodactyl/?flagged_page=abc").status_code == 200
