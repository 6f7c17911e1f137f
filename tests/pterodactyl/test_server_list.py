"""A customer's servers list with many servers: it renders at once from the shared status
cache (no panel request while the page renders), the states come from a fragment that waits
on the panel at most a second, and every panel call goes through one pooled client."""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager

import pytest
from sqlalchemy import event

from kernel.extensions import db
from tests.pterodactyl.conftest import panel_customer, panel_product, paper_settings, seed_fleet

SERVERS = 50


@contextmanager
def statements(app, *, every_thread: bool = False):
    """The SQL statements the app's engine runs inside the block: by this thread (the test
    client serves the request in it), or with ``every_thread`` also by the background refresh,
    which runs beside the page by design and on a loaded machine interleaves with it."""
    seen: list[str] = []
    with app.app_context():
        engine = db.engine
    mine = threading.get_ident()

    def note(conn, cursor, statement, *args):
        if every_thread or threading.get_ident() == mine:
            seen.append(" ".join(statement.split()))

    event.listen(engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", note)


@pytest.fixture
def fleet(ptero_app, panel, sim):
    """A customer with SERVERS active servers, seeded in the panel and linked."""
    with ptero_app.app_context():
        product = panel_product(paper_settings(panel), slug="fleet", price=100)
        user = panel_customer(email="fleet@example.com", balance=0)
        ids = seed_fleet(sim, product, user, SERVERS)
        db.session.remove()
    return ids


def customer(app):
    from kernel.testing import TEST_PASSWORD, login

    client = app.test_client()
    login(client, "fleet@example.com", TEST_PASSWORD)
    return client


def settled(timeout: float = 20.0) -> None:
    """Wait until no status refresh is running in this process."""
    from builtin_plugins.pterodactyl import statuses

    deadline = time.monotonic() + timeout
    while statuses._running and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not statuses._running


def panel_calls(sim) -> list[dict]:
    return [r for r in sim.requests if r["path"].startswith("/api/")]


def test_the_list_of_fifty_servers_asks_the_panel_nothing_and_runs_few_statements(
    ptero_app, fleet, sim
):
    client = customer(ptero_app)
    assert client.get("/dashboard").status_code == 200  # warm: templates compiled
    sim.clear_requests()
    with statements(ptero_app) as seen:
        page = client.get("/servers")
    assert page.status_code == 200
    assert page.text.count("live-pending") == SERVERS and "server 49" in page.text
    assert len(seen) <= 15, "\n".join(seen)
    # nothing waited on the panel while the page rendered (the refresh runs beside it)
    assert all("/resources" in r["path"] for r in panel_calls(sim))


def test_the_statuses_fragment_fills_every_state_and_the_cache_serves_the_next_page(
    ptero_app, fleet, sim
):
    client = customer(ptero_app)
    states = client.get("/servers/statuses")
    assert states.status_code == 200
    assert states.text.count('hx-swap-oob="true"') == SERVERS
    # seeded servers are installed and stopped; any the panel has not answered for within
    # the second say so (a loaded machine), and the next look has them from the cache
    assert states.text.count("Offline") + states.text.count("did not answer in time") == SERVERS
    settled()
    assert client.get("/servers/statuses").text.count("Offline") == SERVERS
    sim.clear_requests()
    with statements(ptero_app) as seen:
        page = client.get("/servers")
    assert "live-pending" not in page.text and page.text.count("Offline") == SERVERS
    assert 'hx-get="/servers/statuses"' not in page.text  # nothing left to fill in
    assert panel_calls(sim) == [] and len(seen) <= 15, "\n".join(seen)


def test_statement_count_does_not_grow_with_the_number_of_servers(ptero_app, fleet, sim):
    from builtin_plugins.store.models import Service

    client = customer(ptero_app)
    client.get("/servers")
    settled()
    with statements(ptero_app) as many:
        client.get("/servers")
    with ptero_app.app_context():  # keep 5 of the 50
        db.session.execute(
            db.update(Service).where(Service.id.in_(fleet[5:])).values(state="terminated")
        )
        db.session.commit()
    with statements(ptero_app) as few:
        client.get("/servers")
    assert len(many) == len(few)


def test_a_hung_panel_turns_states_unknown_within_a_second(ptero_app, fleet, sim):
    client = customer(ptero_app)
    sim.set_switches(answer_delay=5)
    try:
        started = time.monotonic()
        page = client.get("/servers")
        assert page.status_code == 200 and time.monotonic() - started < 1.0
        started = time.monotonic()
        states = client.get("/servers/statuses")
        took = time.monotonic() - started
    finally:
        sim.set_switches(answer_delay=0)
    assert states.status_code == 200 and took < 2.0  # the 1 s wait, plus the page's own work
    assert states.text.count("Unknown") == SERVERS
    assert "did not answer in time" in states.text


def test_refreshes_are_bounded_and_never_ask_twice_for_one_server(
    ptero_app, fleet, sim, monkeypatch
):
    from builtin_plugins.pterodactyl import statuses

    sim.set_switches(answer_delay=0.3)
    try:
        client = customer(ptero_app)
        client.get("/servers")  # starts the refresh of all 50
        client.get("/servers")  # the same servers are being refreshed: not asked again
        settled()
    finally:
        sim.set_switches(answer_delay=0)
    calls = [r for r in panel_calls(sim) if r["path"].endswith("/resources")]
    assert len(calls) == SERVERS
    starts = sorted(r["at"] for r in calls)
    # WORKERS at a time with 0.3 s each: the 50 answers take at least 50 / WORKERS * 0.3 s
    assert starts[-1] - starts[0] >= (SERVERS / statuses.WORKERS - 1) * 0.3 * 0.9


def test_one_pooled_client_per_panel_and_options(ptero_app, monkeypatch):
    from builtin_plugins.pterodactyl import panel

    monkeypatch.setattr(panel, "CLIENT_OPTIONS", {})
    panel.forget_clients()
    with ptero_app.app_context():
        settings = panel.load_settings()
        first = panel.make_client(settings, quick=True)
        with panel.connect(quick=True) as again:
            assert again is first
        assert not first._http.is_closed  # a shared client outlives ``with``
        assert panel.make_client(settings) is not first  # other timeouts: another pool
        other = panel.PanelSettings(url=settings.url, application_key="other", client_key="")
        assert panel.make_client(other, quick=True) is not first  # another key
    panel.forget_clients()
    assert first._http.is_closed


def test_the_list_of_someone_else_shows_nothing_of_mine(ptero_app, fleet, sim):
    from kernel.testing import TEST_PASSWORD, login

    with ptero_app.app_context():
        panel_customer(email="other@example.com", balance=0)
    other = ptero_app.test_client()
    login(other, "other@example.com", TEST_PASSWORD)
    states = other.get("/servers/statuses")
    assert states.status_code == 200 and "live-" not in states.text
    assert ptero_app.test_client().get("/servers/statuses").status_code in (302, 401)


def test_redis_holds_the_states_when_configured(ptero_app, fleet, sim, monkeypatch):
    import os

    import redis

    from builtin_plugins.pterodactyl import statuses

    url = os.environ.get("PTEROCA_TEST_REDIS_URL")
    if not url:
        if os.environ.get("CI"):
            pytest.fail("PTEROCA_TEST_REDIS_URL is not set")
        pytest.skip("no Redis for this run (CI sets PTEROCA_TEST_REDIS_URL)")
    monkeypatch.setitem(ptero_app.config, "REDIS_URL", url)
    store = redis.Redis.from_url(url)
    store.delete(*[f"{statuses.REDIS_PREFIX}{i}" for i in fleet])
    client = customer(ptero_app)
    client.get("/servers")
    settled()
    assert client.get("/servers/statuses").text.count("Offline") == SERVERS
    assert store.ttl(f"{statuses.REDIS_PREFIX}{fleet[0]}") <= statuses.FRESH_SECONDS
    with ptero_app.app_context():
        from builtin_plugins.pterodactyl.models import LiveState

        assert db.session.scalar(db.select(db.func.count()).select_from(LiveState)) == 0
    sim.clear_requests()
    with statements(ptero_app, every_thread=True) as seen:
        page = client.get("/servers")
    assert page.text.count("Offline") == SERVERS and panel_calls(sim) == []
    assert not any("pterodactyl_live_state" in s for s in seen)
    store.delete(*[f"{statuses.REDIS_PREFIX}{i}" for i in fleet])
