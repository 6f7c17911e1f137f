"""The plugin as shipped: through the scan gate, its manifest, and where it talks to."""

from __future__ import annotations

from kernel.plugins.discovery import discover_entry_points
from kernel.security import check_gate
from kernel.testing import login
from tests.paypal.conftest import EMAIL, PASSWORD


def test_passes_the_scan_gate_as_shipped(app, fresh, osv_server, monkeypatch):
    monkeypatch.setenv("PTEROCA_OSV_URL", osv_server.url)
    plugin = {p.name: p for p in discover_entry_points()}["paypal_payments"]
    assert plugin.ok and plugin.distribution == "pteroca", plugin.errors
    with fresh(app).app_context():
        record = check_gate(plugin)
    assert record.verdict == "pass" and record.advisory_state == "ok"
    assert record.finding_objects() == []
    assert ("httpx", plugin_version("httpx")) in osv_server.queried()


def plugin_version(name: str) -> str:
    from importlib import metadata

    return metadata.version(name)


def test_manifest_declares_the_settings(app):
    plugin = {p.name: p for p in discover_entry_points()}["paypal_payments"]
    manifest = plugin.manifest
    assert manifest.capabilities == ["payments", "privacy"] and manifest.python_dependencies == [
        "httpx>=0.27"
    ]
    settings = manifest.settings
    assert settings["client_secret"].secret and not settings["client_id"].secret
    assert settings["mode"].choices == ("sandbox", "live") and settings["mode"].default == "sandbox"
    assert settings["base_url"].type == "url" and settings["base_url"].default == ""
    assert "webhook_id" in settings


def test_base_url_follows_the_mode_unless_set():
    from builtin_plugins.paypal_payments.client import base_url_for

    assert base_url_for("sandbox") == "https://api-m.sandbox.paypal.com"
    assert base_url_for("live") == "https://api-m.paypal.com"
    assert base_url_for("live", "http://127.0.0.1:9/") == "http://127.0.0.1:9"


def test_offered_only_once_enabled(app, cli, fresh, paypal_env, osv_server, monkeypatch):
    from kernel.accounts.services import create_user

    monkeypatch.setenv("PTEROCA_OSV_URL", osv_server.url)
    with app.app_context():
        create_user("payer@example.com", "payer-password-1", verified=True)
    assert "PayPal" not in login(fresh(app), EMAIL, PASSWORD).get("/wallet").text
    assert cli("plugin", "enable", "paypal_payments").exit_code == 0
    assert "PayPal" in login(fresh(app), EMAIL, PASSWORD).get("/wallet").text
