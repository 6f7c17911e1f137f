"""The Pelican plugin's request budget: every Pelican call takes a token of its own bucket
(apart from the Pterodactyl plugin's), background work is paced under Pelican's 256 a
minute, pages are told when it is spent, and the settings stay within Pelican's limits."""

from __future__ import annotations

import pytest

from builtin_plugins.panel_kit.api import errors, max_rate
from builtin_plugins.pelican import panel
from kernel.extensions import db
from kernel.setting_types import SettingError
from tests.pelican_plugin.conftest import configure
from tests.pelican_plugin.tabs_helpers import *  # noqa: F403 - the fixtures
from tests.pelican_plugin.tabs_helpers import flashes, tab_url


def buckets() -> dict[str, float]:
    """The site's buckets of the Pelican budget (the plugin's table; on SQLite its side
    file), by scope."""
    store = panel.BUDGET_STORE._database(db.engine)
    table = store.table
    with store.engine.connect() as conn:
        return {row.scope: row.tokens for row in conn.execute(db.select(table))}


def test_the_bounds_are_pelicans_limit():
    assert panel.PANEL_LIMITS == {"application": 256, "client": 256}
    assert max_rate(256) == 213


def test_a_background_burst_is_paced_under_pelicans_limit_without_a_429(pel_app, sim, clock):
    """Simulator limit 60 a minute on the same virtual clock, and the setting says so: budget
    50 (burst 10, reserve 2):
    150 background reads take about three virtual minutes, no 429, and a page's call in the
    middle is answered at once."""
    sim.clock = clock
    sim.set_switches(application_rate_limit=60)
    with pel_app.app_context():
        configure(pel_app, application_requests_per_minute=60)
        settings = panel.load_settings()
        background = panel.make_client(settings)
        page = panel.make_client(settings, quick=True)
        assert background.app.t.interactive is False and page.app.t.interactive is True
        answered, start = [], clock.now
        for n in range(150):
            background.app.list_eggs()
            if n == 75:
                before = clock.now
                answered.append(len(page.app.list_eggs()))
                assert clock.now == before
        minutes = (clock.now - start) / 60
        scopes = buckets()
    assert sim.status_counts[429] == 0
    assert answered and answered[0] > 0
    assert 2.5 < minutes < 3.2
    assert [s.split(":")[:2] for s in scopes] == [["pelican", "application"]]


def test_the_tabs_calls_take_pelican_tokens_and_a_spent_budget_is_told(
    pel_app, alice, owner, sim, clock
):
    with pel_app.app_context():
        configure(pel_app, client_requests_per_minute=8)  # budget 6: burst 1, a token per 10 s
    panel.forget_clients()
    sim.clear_requests()
    first = alice.get(tab_url(owner.service_id, "backups"))
    assert first.status_code == 200, flashes(first.text)
    sent = len(sim.requests)
    spent = alice.get(tab_url(owner.service_id, "databases"))
    assert spent.status_code == 429
    assert "busy" in flashes(spent.text) and "try again in" in flashes(spent.text)
    assert len(sim.requests) == sent  # not sent to Pelican at all
    assert sim.status_counts[429] == 0
    with pel_app.app_context():
        assert any(s.startswith("pelican:client:") for s in buckets())
    clock.sleep(60)  # a minute later the page works again
    assert alice.get(tab_url(owner.service_id, "databases")).status_code == 200


def test_a_page_client_is_told_at_once_when_the_budget_is_spent(pel_app, sim):
    with pel_app.app_context():
        configure(pel_app, client_requests_per_minute=8)
        page = panel.make_client(panel.load_settings(), quick=True)
        page.client.t.request("GET", "")
        with pytest.raises(errors.RateLimited) as caught:
            page.client.t.request("GET", "")
    assert caught.value.wait_seconds == 10
    assert sim.status_counts[429] == 0


def test_provisioning_waits_for_its_tokens_instead_of_failing(pel_app, panel, paper_product, clock):
    """A purchase is background work: with 6 application calls a minute it is paced (the
    clock moves), never refused."""
    from tests.pelican_plugin.tabs_helpers import buy_server

    with pel_app.app_context():
        configure(pel_app, application_requests_per_minute=8)  # budget 6
    before = clock.now
    bought = buy_server(pel_app, paper_product, "paced@example.com")
    assert bought.identifier
    assert clock.now - before >= 30  # several calls past the burst of 1, 10 s apart


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("application_requests_per_minute", 0, "must be at least 6"),
        ("application_requests_per_minute", 5, "must be at least 6"),
        ("application_requests_per_minute", 1_000_001, "must be at most 1000000"),
        ("client_requests_per_minute", -256, "must be at least 6"),
        ("client_requests_per_minute", 10**30, "must be at most 1000000"),
        ("client_requests_per_minute", "lots", "must be a whole number"),
    ],
)
def test_budget_settings_refuse_what_pelican_would_not_allow(ctx, key, value, message):
    before = panel.load_settings()
    with pytest.raises(SettingError, match=message):
        configure(ctx, **{key: value})
    assert panel.load_settings() == before


def test_stored_values_out_of_bounds_are_clamped(ctx, monkeypatch):
    monkeypatch.setattr(
        panel,
        "settings_for",
        lambda plugin: {
            "application_requests_per_minute": "99999999",
            "client_requests_per_minute": "x",
        },
    )
    settings = panel.load_settings()
    assert settings.application_requests_per_minute == 1_000_000
    assert settings.client_requests_per_minute == 256
    assert {api: b.per_minute for api, b in panel.budgets(settings).items()} == {
        "application": max_rate(1_000_000),
        "client": 213,
    }
