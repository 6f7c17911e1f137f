"""The plugin as an admin runs it: scanned clean, disabled cleanly with its data kept,
purged on request, its health and cron task, the demo's seed."""

from __future__ import annotations

import json

from sqlalchemy import inspect

from kernel.extensions import db
from kernel.testing import HEALTH_HEADERS, rebuild, run_cli
from tests.invoices.conftest import configure, customer, documents, topup

TABLES = {
    "invoices_profile",
    "invoices_tax_rate",
    "invoices_product_class",
    "invoices_counter",
    "invoices_document",
    "invoices_line",
    "invoices_pdf",
    "invoices_delivery",
    "invoices_pending",
}


def test_the_scan_finds_nothing_above_low(shop):
    result = run_cli(shop, "plugin", "scan", "invoices", "--json")
    assert result.exit_code == 0, result.output
    record = json.loads(result.output)
    record = record[0] if isinstance(record, list) else record
    severities = {f["severity"] for f in record["findings"]}
    assert severities <= {"LOW", "INFO", "low", "info"}, record["findings"]
    assert record["verdict"] == "pass"


def test_disabling_removes_the_feature_keeps_the_data_and_enabling_brings_it_back(shop):
    with shop.test_request_context():
        user = customer("camille@example.fr", country="FR")
        topup(user, 1200)
        user_id = user.id
        db.session.remove()
    result = run_cli(shop, "plugin", "disable", "invoices")
    assert result.exit_code == 0, result.output
    off = rebuild(shop)
    client = off.test_client()
    client.post("/login", data={"email": "camille@example.fr", "password": "customer-password-1"})
    assert client.get("/wallet/invoices").status_code == 404
    assert client.get("/wallet/invoices/1.pdf").status_code == 404
    wallet = client.get("/wallet")
    assert wallet.status_code == 200 and "invoices-box" not in wallet.text
    with off.test_request_context():
        from kernel.accounts.models import User

        payment = topup(db.session.get(User, user_id), 1000)  # the shop goes on without invoices
        assert payment.status == "paid"
        assert [d.number for d in documents()] == ["INV-2026-000001"]  # kept
        db.session.commit()
        assert set(inspect(db.engine).get_table_names()) >= TABLES
        db.session.remove()
    assert run_cli(shop, "plugin", "enable", "invoices").exit_code == 0
    on = rebuild(shop)
    client = on.test_client()
    client.post("/login", data={"email": "camille@example.fr", "password": "customer-password-1"})
    assert "INV-2026-000001" in client.get("/wallet/invoices").text
    assert client.get("/wallet/invoices/1.pdf").data.startswith(b"%PDF-")


def test_uninstall_with_purge_drops_the_tables(shop):
    with shop.test_request_context():
        topup(customer("camille@example.fr", country="FR"), 1200)
        db.session.remove()
    assert run_cli(shop, "plugin", "disable", "invoices").exit_code == 0
    result = run_cli(shop, "plugin", "uninstall", "invoices", "--purge", "--yes")
    assert result.exit_code == 0, result.output
    app = rebuild(shop)
    with app.app_context():
        assert not TABLES & set(inspect(db.engine).get_table_names())
        if db.engine.dialect.name == "postgresql":
            assert (
                db.session.scalar(
                    db.text("SELECT count(*) FROM pg_proc WHERE proname = 'invoices_refuse_change'")
                )
                == 0
            )
        db.session.remove()
    assert run_cli(shop, "plugin", "enable", "invoices").exit_code == 0  # and it comes back empty
    with rebuild(shop).app_context():
        assert documents() == []
        db.session.remove()


def test_health_says_what_stops_invoicing(shop):
    client = shop.test_client()
    assert client.get("/-/health", headers=HEALTH_HEADERS).get_json()["plugin_health"][
        "invoices"
    ] == {"invoicing": "ok"}
    with shop.test_request_context():
        configure(seller_country="")
        topup(customer("camille@example.fr", country="FR"), 1200)
        from builtin_plugins.invoices import tasks

        problem = tasks.health()
        assert "the seller's country '' is not an ISO 3166 code" in problem
        db.session.remove()
    report = client.get("/-/health", headers=HEALTH_HEADERS).get_json()
    assert "invoices" in report["degraded"]
    assert "seller's country" in report["plugin_health"]["invoices"]["invoicing"]


def test_the_retry_task_runs_from_cron(shop):
    listed = run_cli(shop, "cron", "list")
    assert "invoices.retry" in listed.output
    with shop.test_request_context():
        from builtin_plugins.invoices import taxes

        topup(customer("it@example.it", country="IT", city="Roma"), 1220)
        taxes.set_rate("IT", "standard", "22")
        db.session.remove()
    result = run_cli(shop, "cron", "run", "--task", "invoices.retry", "--force")
    assert result.exit_code == 0, result.output
    with shop.app_context():
        assert [d.number for d in documents()] == ["INV-2026-000001"]
        db.session.remove()


def test_the_demo_seed_fills_in_a_seller_once(shop):
    from builtin_plugins.invoices import config, tasks

    with shop.app_context():
        configure(seller_name="")
        lines = tasks.demo_seed()
        assert lines and "demo seller in Germany" in lines[0]
        assert config.problems(config.load()) == []
        assert tasks.demo_seed() == []
        db.session.remove()
