"""The Pelican admin page (the panel kit's page, shared with the Pterodactyl plugin): staff
only, connection test, request budget, reconcile with the flagged servers paged, user sync,
import, and the egg and node browser."""

from __future__ import annotations

import pytest

from builtin_plugins.panel_kit.api import FLAGGED_PAGE
from kernel.extensions import db
from kernel.testing import admin_client, login
from tests.pelican_plugin.conftest import configure, customer, paper_settings, pelican_product

PAGE = "/admin/pelican/"


@pytest.fixture
def boss(pel_app):
    with pel_app.app_context():
        customer("customer@example.com", name="Carl Customer", balance=0)
    return admin_client(pel_app, "boss@example.com")


def test_only_staff_reach_the_page(pel_app, boss):
    from kernel.testing import TEST_PASSWORD

    client = pel_app.test_client()
    login(client, "customer@example.com", TEST_PASSWORD)
    for method, path in (
        ("GET", ""),
        ("GET", "eggs"),
        ("POST", "test"),
        ("POST", "reconcile"),
        ("POST", "sync-users"),
        ("POST", "import"),
    ):
        assert client.open(PAGE + path, method=method).status_code == 403, path
        anonymous = pel_app.test_client().open(PAGE + path, method=method)
        assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"], path
    page = boss.get(PAGE)
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert '<h1 class="h4">Pelican</h1>' in text
    assert "Every server is in step with the panel." in text


def test_the_page_shows_the_request_budget(pel_app, boss):
    configure(pel_app, application_requests_per_minute=120, client_requests_per_minute=150)
    text = boss.get(PAGE).get_data(as_text=True)
    budget = " ".join(text.split('id="request-budget"', 1)[1].split("</p>", 1)[0].split())
    assert "application API 100 a minute (the panel allows 120)" in budget, budget
    assert "client API 125 a minute (the panel allows 150)" in budget, budget


def test_the_connection_test_names_what_is_wrong(pel_app, boss, sim):
    page = boss.post(PAGE + "test").get_data(as_text=True)
    assert 'id="connection-report"' in page and "✘" not in page
    configure(pel_app, application_key=sim.client_key)
    page = boss.post(PAGE + "test").get_data(as_text=True)
    assert "✘" in page
    with pel_app.app_context():
        from kernel.audit import AuditLog

        tests = db.session.scalars(
            db.select(AuditLog).where(AuditLog.action == "pelican.connection_test")
        ).all()
        assert [t.details["ok"] for t in tests] == [True, False]


def test_flagged_servers_are_paged_and_link_to_pelicans_admin(pel_app, boss, sim):
    from builtin_plugins.pelican.models import ServerLink
    from builtin_plugins.store.testing import make_server
    from kernel import now as utcnow

    with pel_app.app_context():
        owner = customer("fleet@example.com", balance=0)
        for n in range(FLAGGED_PAGE + 7):
            service = make_server(owner.id, f"fleet {n}")
            db.session.add(
                ServerLink(
                    service_id=service.id,
                    server_id=1000 + n,
                    identifier=f"{n:08x}",
                    uuid="",
                    external_id=f"pteroca-{service.id}",
                    origin="created",
                    drift="deleted in the panel",
                    drift_at=utcnow(),
                )
            )
        db.session.commit()
    first = boss.get(PAGE).get_data(as_text=True)
    assert first.count("deleted in the panel</td>") == FLAGGED_PAGE
    assert f"{FLAGGED_PAGE + 7} flagged; page 1 of 2" in first
    assert f'{sim.url}/admin/servers/1056/edit"' in first  # Pelican's admin, not Pterodactyl's
    second = boss.get(PAGE + "?flagged_page=2").get_data(as_text=True)
    assert second.count("deleted in the panel</td>") == 7 and "page 2 of 2" in second
    assert "page 2 of 2" in boss.get(PAGE + "?flagged_page=99").get_data(as_text=True)
    assert boss.get(PAGE + "?flagged_page=abc").status_code == 200


def test_reconcile_from_the_page_lists_what_needs_a_human(pel_app, boss, panel, sim):
    from builtin_plugins.pelican import links
    from builtin_plugins.store.testing import buy

    with pel_app.app_context():
        product = pelican_product(paper_settings(panel))
        service = buy(customer("r@example.com"), product)
        assert service.state == "active", service.last_error
        server_id, service_id = links.server_link(service.id).server_id, service.id
        db.session.remove()
    panel.app.delete_server(server_id)  # behind pteroca's back
    dry = boss.post(PAGE + "reconcile", data={"dry_run": "1"}).get_data(as_text=True)
    report = dry.split('id="reconcile-report"', 1)[1].split("</div>", 1)[0]
    assert "1 servers checked" in report and "dry run" in report
    assert f"server #{service_id} would change: the server is gone from the panel" in report
    real = boss.post(PAGE + "reconcile").get_data(as_text=True)
    flagged = real.split('id="flagged"', 1)[1].split("</table>", 1)[0]
    assert f"#{service_id} " in flagged


def test_user_sync_and_import_from_the_page(pel_app, boss, panel, sim):
    synced = boss.post(PAGE + "sync-users", follow_redirects=True).get_data(as_text=True)
    assert "panel users created" in synced
    assert "0 accounts without a panel user" in synced
    refused = boss.post(PAGE + "import", data={"product": "nope", "dry_run": "1"})
    assert refused.status_code == 400 and "no product with the slug" in refused.get_data(True)
    with pel_app.app_context():
        pelican_product(paper_settings(panel), slug="imports")
    dry = boss.post(PAGE + "import", data={"product": "imports", "dry_run": "1"})
    assert dry.status_code == 200 and 'id="import-report"' in dry.get_data(True)


def test_the_egg_browser_shows_eggs_variables_and_node_tags(pel_app, boss, panel):
    from tests.pelican_plugin.conftest import ids

    seed = ids(panel)
    page = boss.get(PAGE + f"eggs?egg={seed['paper']}")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "Garrys Mod" in text and "MINECRAFT_VERSION=latest | visible, editable" in text
    assert "required|string|max:20" in text  # Pelican's array of rules, shown joined
    nodes = text.split('id="nodes"', 1)[1].split("</table>", 1)[0]
    assert "sim-eu" in nodes and "%" in nodes
    missing = boss.get(PAGE + "eggs?egg=99999")
    assert missing.status_code == 404 and "Pelican has no egg 99999" in missing.get_data(True)
    configure(pel_app, panel_url="")
    assert boss.get(PAGE + "eggs").status_code == 409
