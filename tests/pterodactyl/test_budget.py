"""The panel request budget (panel_kit/budget.py): priority, pacing, sharing across processes
through Redis and the database, the transport's use of it, and the plugin's settings."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import create_engine

from builtin_plugins.panel_kit.api import (
    Budget,
    DatabaseStore,
    MemoryStore,
    RedisStore,
    VirtualClock,
    burst_for,
    errors,
    max_rate,
)
from builtin_plugins.pterodactyl import panel
from builtin_plugins.pterodactyl.models import RequestBudget
from kernel.extensions import db
from kernel.setting_types import SettingError
from tests.pterodactyl.conftest import configure

# --- the bucket ------------------------------------------------------------------------------


def budget(per_minute=60, store=None, clock=None) -> Budget:
    clock = clock or VirtualClock(1000.0)
    return Budget(store or MemoryStore(), "test", per_minute, clock=clock, sleep=clock.sleep)


def test_sizes_keep_rate_and_burst_within_the_panels_limit():
    for limit in (1, 2, 10, 60, 240, 720, 10_000):
        rate = max_rate(limit)
        assert rate >= 1
        assert rate + burst_for(rate) <= max(limit, 2)
    assert (max_rate(240), max_rate(720)) == (200, 600)


def test_background_leaves_the_reserve_and_interactive_may_take_it():
    b = budget(60)  # burst 12, reserve 2
    assert (b.burst, b.reserve) == (12, 2)
    clock = b.clock
    for _ in range(10):
        b.take(interactive=False)
    assert clock.slept == 0  # the burst minus the reserve came at once
    b.take(interactive=False)  # the 11th waits for a token above the reserve
    assert clock.slept == pytest.approx(1.0)
    before = clock.slept
    b.take(interactive=True)
    b.take(interactive=True)  # the reserve is the pages'
    assert clock.slept == before


def test_background_waits_as_long_as_it_takes_but_never_goes_faster_than_the_rate():
    b = budget(60)
    clock = b.clock
    start = clock.now
    for _ in range(130):
        b.take(interactive=False)
    # 10 at once, then one a second: never more than burst + rate in any minute
    assert clock.now - start == pytest.approx(120.0, abs=0.01)


def test_interactive_waits_at_most_a_second_then_is_told_to_come_back():
    b = budget(6)  # one token every 10 s, burst 1
    b.take(interactive=True)
    with pytest.raises(errors.RateLimited) as caught:
        b.take(interactive=True, method="GET", path="/api/client/servers/x/resources")
    assert caught.value.retry_after == 10
    assert "try again in 10 s" in str(caught.value)
    assert b.clock.slept == 0  # it did not wait for a token it could not get in time
    fast = budget(600)  # one token every 0.1 s
    for _ in range(fast.burst):
        fast.take(interactive=True)
    fast.take(interactive=True)  # waited 0.1 s for it
    assert 0 < fast.clock.slept <= 1.0


def test_a_failing_store_does_not_stop_the_panel_calls(caplog):
    class Broken:
        def take(self, *args):
            raise ConnectionError("redis is down")

    budget(store=Broken()).take(interactive=False)
    assert "sending unmetered" in caplog.text


def hammer(stores, clock, calls: int) -> int:
    """Threads, one per store (a process each), taking background tokens at one instant:
    how many were granted."""
    granted = []
    lock = threading.Lock()

    def work(store):
        mine = 0
        for _ in range(calls):
            if store.take("shared", clock(), 1.0, 12.0, 2.0) < 0:
                mine += 1
        with lock:
            granted.append(mine)

    threads = [threading.Thread(target=work, args=(s,)) for s in stores]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(granted)


def test_two_processes_share_one_bucket_through_redis(redis_url):
    import redis

    clock = VirtualClock(5000.0)
    stores = [RedisStore(redis.Redis.from_url(redis_url)) for _ in range(2)]
    assert hammer(stores, clock, 20) == 10  # burst 12 minus the reserve, not 10 each
    clock.sleep(5)  # 5 tokens come back
    assert hammer(stores, clock, 20) == 5
    assert hammer(stores, clock, 20) == 0


def test_two_app_instances_share_one_bucket_through_the_database(ptero_app):
    with ptero_app.app_context():
        url = db.engine.url
    engines = [create_engine(url) for _ in range(2)]
    try:
        clock = VirtualClock(5000.0)
        stores = [DatabaseStore(e, RequestBudget.__table__) for e in engines]
        assert hammer(stores, clock, 20) == 10
        clock.sleep(5)
        assert hammer(stores, clock, 20) == 5
        assert hammer(stores, clock, 20) == 0
        clock.sleep(3600)  # refilled, never above the burst
        assert hammer(stores, clock, 20) == 10
    finally:
        for engine in engines:
            engine.dispose()


def test_the_database_bucket_does_not_touch_the_callers_transaction(ctx):
    from builtin_plugins.store.api import Product

    db.session.add(Product(name="pending", slug="pending", provisioner="pterodactyl"))
    db.session.flush()
    store = DatabaseStore(db.engine, RequestBudget.__table__)
    if db.engine.dialect.name == "sqlite":
        db.session.commit()  # SQLite has one writer: a caller's open write waits for nobody here
    assert store.take("mine", 10.0, 1.0, 3.0, 0.0) < 0
    db.session.rollback()
    assert db.session.get(RequestBudget, "mine").tokens == 2.0


# --- through the transport and the simulator -------------------------------------------------


def test_a_background_burst_gets_no_429_and_a_page_still_gets_through(ptero_app, sim, clock):
    """Simulator limit 60 a minute on the same virtual clock, and the setting says so: budget
    50 (burst 10, reserve 2).
    150 background reads take three virtual minutes and get no 429; a page's call in the middle
    of it is answered at once."""
    sim.clock = clock
    sim.set_switches(application_rate_limit=60)
    with ptero_app.app_context():
        configure(ptero_app, application_requests_per_minute=60)
        settings = panel.load_settings()
        background = panel.make_client(settings)
        page = panel.make_client(settings, quick=True)
        assert background.app.t.interactive is False and page.app.t.interactive is True
        answered = []
        start = clock.now
        for n in range(150):
            background.app.get_location(1)
            if n == 75:
                before = clock.now
                answered.append(page.app.get_location(1)["id"])
                assert clock.now == before  # the reserve was there: no wait at all
        minutes = (clock.now - start) / 60
    assert sim.status_counts[429] == 0
    assert sim.status_counts[200] >= 151
    assert answered == [1]
    assert 2.5 < minutes < 3.2  # paced at 50 a minute, after the burst


def test_pages_share_what_is_left_and_are_told_when_it_is_spent(ptero_app, sim, clock):
    with ptero_app.app_context():
        configure(ptero_app, client_requests_per_minute=8)  # budget 6: burst 1, a token per 10 s
        settings = panel.load_settings()
        page = panel.make_client(settings, quick=True)
        page.client.t.request("GET", "")  # the key's servers
        with pytest.raises(errors.RateLimited) as caught:
            page.client.t.request("GET", "")
    assert caught.value.wait_seconds == 10
    assert sim.status_counts[429] == 0


# --- settings --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("application_requests_per_minute", 0, "must be at least 6"),
        ("application_requests_per_minute", 5, "must be at least 6"),
        ("application_requests_per_minute", -240, "must be at least 6"),
        ("application_requests_per_minute", 1_000_001, "must be at most 1000000"),
        ("client_requests_per_minute", 10**30, "must be at most 1000000"),
        ("client_requests_per_minute", "1e3", "must be a whole number"),
        ("client_requests_per_minute", "lots", "must be a whole number"),
        ("client_requests_per_minute", "60.5", "must be a whole number"),
    ],
)
def test_budget_settings_refuse_what_the_panel_would_not_allow(ctx, key, value, message):
    before = panel.load_settings()
    with pytest.raises(SettingError, match=message):
        configure(ctx, **{key: value})
    assert panel.load_settings() == before


def test_the_settings_page_says_what_is_wrong_and_stores_nothing(ptero_app):
    from kernel.testing import admin_client

    client = admin_client(ptero_app)
    page = client.get("/admin/plugins/pterodactyl/settings")
    assert page.status_code == 200
    manifest = ptero_app.extensions["pteroca"].discovered["pterodactyl"].manifest
    form = {  # what the browser submits: every field at its default, secrets left empty
        key: "" if spec.secret or spec.default is None else str(spec.default)
        for key, spec in manifest.settings.items()
        if spec.type != "bool"
    }
    form.update(application_requests_per_minute="5", client_requests_per_minute="60")
    answer = client.post("/admin/plugins/pterodactyl/settings", data=form)
    assert answer.status_code == 400
    text = answer.get_data(True)
    assert "application API limit per minute must be at least 6" in text, text[-3000:]
    with ptero_app.app_context():
        settings = panel.load_settings()
    assert (settings.application_requests_per_minute, settings.client_requests_per_minute) == (
        240,
        720,
    )


def test_the_budget_follows_the_panels_limit_as_set(ptero_app):
    """The settings are the panel's own limits (its APP_API_*_RATELIMIT): the default panel
    gets 200 and 600 a minute; a panel whose admin raised the limits gets a budget to match,
    always with rate + burst within the limit."""
    with ptero_app.app_context():
        default = panel.budgets(panel.load_settings())
        configure(ptero_app, application_requests_per_minute=2400, client_requests_per_minute=7200)
        raised = panel.budgets(panel.load_settings())
    assert {api: b.per_minute for api, b in default.items()} == {
        "application": 200,
        "client": 600,
    }
    assert {api: b.per_minute for api, b in raised.items()} == {
        "application": 2000,
        "client": 6000,
    }
    assert raised["application"].per_minute + raised["application"].burst <= 2400
    assert raised["client"].per_minute + raised["client"].burst <= 7200


def test_with_redis_configured_the_site_bucket_lives_in_redis(ptero_app, sim, clock, redis_url):
    import redis

    from builtin_plugins.panel_kit.budget import REDIS_PREFIX

    ptero_app.config["REDIS_URL"] = redis_url
    sim.clock = clock
    sim.set_switches(application_rate_limit=60)
    with ptero_app.app_context():
        configure(ptero_app, application_requests_per_minute=60)
        background = panel.make_client(panel.load_settings())
        for _ in range(30):
            background.app.get_location(1)
    keys = redis.Redis.from_url(redis_url).keys(REDIS_PREFIX + "*")
    assert [k.decode().split(":")[3] for k in keys] == ["application"]
    assert sim.status_counts[429] == 0 and clock.slept > 0  # paced through Redis
