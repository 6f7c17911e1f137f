"""Who sees an announcement, and when: audiences, time windows, dismissal, server pages."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from kernel import clock
from tests.announcements.conftest import PEOPLE, banner_titles

START = datetime(2026, 6, 1, 12, 0)


@pytest.fixture
def frozen():
    clock.freeze(START)
    yield
    clock.reset()


def seen_by(panel) -> dict[str, list[str]]:
    return {who: banner_titles(panel.client_as(who).get("/dashboard").text) for who in PEOPLE}


def test_each_audience_reaches_exactly_its_people(panel):
    panel.announce(title="For all", audience="everyone")
    panel.announce(title="For customers", audience="customers")
    panel.announce(title="For staff", audience="staff")
    panel.announce(title="For mc", audience="product", product_ids=[str(panel.products["mc"])])
    panel.announce(
        title="For both products",
        audience="product",
        product_ids=[str(i) for i in panel.products.values()],
    )
    panel.announce(title="For rack 2", audience="node", node_ids=["rack:2"])
    seen = {who: sorted(titles) for who, titles in seen_by(panel).items()}
    assert seen == {
        "alpha": ["For all", "For both products", "For customers", "For mc"],
        "beta": ["For all", "For both products", "For customers", "For rack 2"],
        "nobody": ["For all", "For customers"],
        "writer": ["For all", "For staff"],
        "helper": ["For all", "For staff"],
    }


def test_a_server_that_was_deleted_no_longer_counts(panel):
    from builtin_plugins.store.api import Service
    from kernel.extensions import db

    panel.announce(title="For mc", audience="product", product_ids=[str(panel.products["mc"])])
    with panel.app.app_context():
        db.session.get(Service, panel.servers["alpha"]).state = "terminated"
        db.session.commit()
    assert banner_titles(panel.client_as("alpha").get("/dashboard").text) == []


def test_time_windows(panel, frozen):
    panel.announce(title="Later", starts_at="2026-06-01T13:00", ends_at="2026-06-01T14:00")
    panel.announce(title="Now", starts_at="2026-06-01 11:00")  # open-ended
    panel.announce(title="Over", starts_at="2026-05-01T00:00", ends_at="2026-06-01T12:00")
    alpha = panel.client_as("alpha")
    assert banner_titles(alpha.get("/dashboard").text) == ["Now"]
    clock.freeze(START + timedelta(hours=1))
    assert sorted(banner_titles(alpha.get("/dashboard").text)) == ["Later", "Now"]
    clock.freeze(START + timedelta(hours=2))  # the end is exclusive
    assert banner_titles(alpha.get("/dashboard").text) == ["Now"]
    listing = alpha.get("/announcements/").text
    active, ended = listing.split('id="ended-announcements"')
    assert "Now" in active and "Later" not in active
    assert "Later" in ended and "Over" in ended
    clock.freeze(START + timedelta(days=31))  # list_days: 30
    assert "Over" not in alpha.get("/announcements/").text


def test_most_severe_first(panel):
    panel.announce(title="Info", level="info")
    panel.announce(title="Maint", level="maintenance")
    panel.announce(title="Warn", level="warning")
    page = panel.client_as("nobody").get("/dashboard").text
    assert banner_titles(page) == ["Maint", "Warn", "Info"]
    assert "alert-danger" in page and "bi-tools" in page


def test_dismissing_is_remembered_per_user(panel):
    closable = panel.announce(title="Closable", dismissible="1")
    sticky = panel.announce(title="Sticky", dismissible="")
    alpha, beta = panel.client_as("alpha"), panel.client_as("beta")
    assert (
        '<span class="badge rounded-pill text-bg-danger menu-badge">2</span>'
        in alpha.get("/dashboard").text
    )
    response = alpha.post(f"/announcements/{closable}/dismiss", data={"next": "/servers"})
    assert response.status_code == 303 and response.headers["Location"].endswith("/servers")
    assert banner_titles(alpha.get("/dashboard").text) == ["Sticky"]
    assert 'menu-badge">1</span>' in alpha.get("/dashboard").text
    assert sorted(banner_titles(beta.get("/dashboard").text)) == ["Closable", "Sticky"]
    assert "Closable" in alpha.get("/announcements/").text  # still on the list page
    again = alpha.post(f"/announcements/{closable}/dismiss")
    assert again.status_code == 303  # idempotent
    refused = alpha.post(f"/announcements/{sticky}/dismiss")
    assert refused.status_code == 409 and "cannot be dismissed" in refused.text
    assert 'class="dismiss"' not in alpha.get("/dashboard").text.split("Sticky")[1][:400]


def test_dismissing_what_one_cannot_see_is_a_404(panel, frozen):
    staff_only = panel.announce(title="Staff", audience="staff")
    future = panel.announce(title="Future", starts_at="2026-07-01T00:00")
    alpha = panel.client_as("alpha")
    for target in (staff_only, future, 9999):
        assert alpha.post(f"/announcements/{target}/dismiss").status_code == 404
    open_id = panel.announce(title="Open too")
    for evil in ("https://evil.example/", "//evil.example", "/\\evil.example", "javascript:x"):
        response = alpha.post(f"/announcements/{open_id}/dismiss", data={"next": evil})
        assert response.headers["Location"].endswith("/dashboard"), evil
    assert panel.app.test_client().post(f"/announcements/{open_id}/dismiss").status_code == 302


def test_maintenance_of_a_product_or_node_shows_on_its_servers_pages(panel):
    panel.announce(
        title="MC maintenance",
        level="maintenance",
        audience="product",
        product_ids=[str(panel.products["mc"])],
        ends_at="2099-01-01T00:00",
    )
    panel.announce(title="Rack 2 move", level="warning", audience="node", node_ids=["rack:2"])
    panel.announce(title="For all", audience="everyone")
    alpha, beta = panel.client_as("alpha"), panel.client_as("beta")
    alpha_page = alpha.get(f"/servers/{panel.servers['alpha']}").text
    assert "MC maintenance" in alpha_page and "until 2099-01-01 00:00 UTC" in alpha_page
    assert "Rack 2 move" not in alpha_page and "For all" not in alpha_page.split("<main")[1]
    beta_page = beta.get(f"/servers/{panel.servers['beta']}/settings").text
    assert "Rack 2 move" in beta_page and "MC maintenance" not in beta_page
    dismissed = alpha.get("/dashboard").text
    assert "MC maintenance" in dismissed


def test_the_list_page_needs_a_login(panel):
    response = panel.app.test_client().get("/announcements/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
