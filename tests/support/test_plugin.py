"""The support plugin as an admin meets it: the scan, switching it off and on, purging it; and
the store hooks it uses (``server_actions``) and its health check."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import inspect, text

from kernel.extensions import db
from kernel.testing import HEALTH_HEADERS
from tests.support.conftest import PNG, open_ticket, ticket_id_of


def count(app, table: str) -> int:
    with app.app_context():
        return db.session.execute(text(f"SELECT count(*) FROM {table}")).scalar()


def test_the_plugin_scans_with_nothing_above_low(world, pteroca_instance):
    record = pteroca_instance.scan("support")
    assert record["verdict"] == "pass"
    assert [f for f in record["findings"] if f["severity"] not in ("LOW", "INFO")] == []


def test_disabling_hides_everything_and_keeps_the_data(world, pteroca_instance):
    customer = world.client_as("customer")
    tid = ticket_id_of(open_ticket(customer, server=world.server_id, files=[("a.png", PNG)]))
    agent = world.client_as("agent")
    agent.post(f"/admin/support/tickets/{tid}/reply", data={"body": "hi"})
    assert 'href="/support/"' in customer.get("/dashboard").text
    assert "Get help" in customer.get(f"/servers/{world.server_id}").text
    assert "Tickets" in agent.get("/admin/").text

    pteroca_instance.disable("support")
    customer, agent = world.client_as("customer"), world.client_as("agent")
    assert 'href="/support/"' not in customer.get("/dashboard").text
    assert "menu-badge" not in customer.get("/dashboard").text
    assert "Get help" not in customer.get(f"/servers/{world.server_id}").text
    assert customer.get("/support/").status_code == 404
    assert customer.get(f"/support/{tid}").status_code == 404
    assert "Tickets" not in agent.get("/admin/").text
    assert agent.get(f"/admin/support/tickets/{tid}").status_code == 404
    assert count(world.app, "support_ticket") == 1 and count(world.app, "support_message") == 2
    files = Path(world.app.config["INSTANCE_PATH"]) / "support" / "attachments"
    assert len([p for p in files.rglob("*") if p.is_file()]) == 1

    pteroca_instance.enable("support")
    customer = world.client_as("customer")
    page = customer.get(f"/support/{tid}")
    assert page.status_code == 200 and "hi" in page.text and "a.png" in page.text


def test_purging_drops_the_tables_and_the_files(world, pteroca_instance, runner):
    customer = world.client_as("customer")
    ticket_id_of(open_ticket(customer, files=[("a.png", PNG)]))
    files = Path(world.app.config["INSTANCE_PATH"]) / "support" / "attachments"
    assert any(p.is_file() for p in files.rglob("*"))
    pteroca_instance.disable("support")
    result = runner.invoke(args=["plugin", "uninstall", "support", "--purge", "--yes"])
    assert result.exit_code == 0, result.output
    with world.app.app_context():
        tables = set(inspect(db.engine).get_table_names())
    assert not {t for t in tables if t.startswith("support_")}
    assert not files.exists()
    assert "store_service" in tables  # the store and its servers are untouched


def test_hook_server_actions(world):
    """The store's ``server_actions`` hook: support adds "Get help" for the owner only."""
    customer = world.client_as("customer")
    page = customer.get(f"/servers/{world.server_id}").text
    assert f'href="/support/new?server={world.server_id}"' in page and "Get help" in page
    assert "bi-life-preserver" in page
    assert customer.get(f"/servers/{world.server_id}/settings").text.count("Get help") == 1


def test_health_says_whether_files_can_be_stored(world, pteroca_instance):
    client = world.app.test_client()
    assert client.get("/-/health", headers=HEALTH_HEADERS).get_json()["plugin_health"][
        "support"
    ] == {"attachments_folder": "ok"}
    folder = Path(world.app.config["INSTANCE_PATH"]) / "support" / "attachments"
    folder.rmdir()
    folder.write_text("a file where the folder should be")  # fails for root too
    report = client.get("/-/health", headers=HEALTH_HEADERS).get_json()["plugin_health"]["support"]
    assert "cannot create" in report["attachments_folder"]
    assert "support" in client.get("/-/health", headers=HEALTH_HEADERS).get_json()["degraded"]
    refused = open_ticket(world.client_as("customer"), files=[("a.png", PNG)])
    assert refused.status_code == 503 and "cannot be stored right now" in refused.text


def test_the_demo_seeds_a_saved_reply_once(world):
    from builtin_plugins.support import demo
    from tests.support.conftest import models

    with world.app.app_context():
        assert "support:" in demo.seed()[0]
        demo.seed()
        assert db.session.scalar(db.select(db.func.count(models().SavedReply.id))) == 1
