"""Scan records, their reuse, and the gate's three outcomes: blocked, warned, passed."""

from __future__ import annotations

import sys
from datetime import timedelta

import pytest

from kernel.extensions import db
from kernel.models import AuditLog
from kernel.security import (
    ConfirmationRequired,
    GateRefused,
    ScanBlocked,
    ScanRecord,
    check_gate,
    latest_scan,
    policy,
    scan_plugin,
)
from kernel.security import gate as gate_module
from tests.fakes.osv_server import unreachable_url
from tests.security.scanlib import install_dist


@pytest.fixture
def ctx(app):
    with app.app_context():
        yield app


def records(name):
    return db.session.scalars(db.select(ScanRecord).where(ScanRecord.plugin == name)).all()


def test_scan_stores_a_full_record(ctx, sample):
    plugin = sample("clean")
    record = scan_plugin(plugin)
    assert record.id is not None and latest_scan("clean") is record
    assert (record.plugin, record.version, record.verdict) == ("clean", "1.0.0", "pass")
    assert record.content_hash == plugin.content_hash() and len(record.content_hash) == 64
    assert record.findings == [] and record.advisory_state == "none"
    assert record.policy_version == policy.POLICY_VERSION
    assert {"bandit", "pip-audit", "python", "osv_url", "dependencies"} <= set(record.tool_versions)
    assert record.created_at is not None


def test_findings_are_stored_as_dicts_worst_first(ctx, sample):
    record = scan_plugin(sample("deserialize"))
    assert record.verdict == "block"
    assert set(record.findings[0]) == {"check", "rule", "severity", "file", "line", "message"}
    severities = [f["severity"] for f in record.findings]
    assert severities[0] == "CRITICAL" and "HIGH" in severities
    assert record.counts()["CRITICAL"] == 3


def test_fresh_record_is_reused_and_force_rescans(ctx, sample):
    plugin = sample("clean")
    first = scan_plugin(plugin)
    assert scan_plugin(plugin).id == first.id
    assert scan_plugin(plugin, force=True).id != first.id
    assert len(records("clean")) == 2


def test_changed_files_get_a_new_record(ctx, sample):
    plugin = sample("clean")
    first = scan_plugin(plugin)
    (plugin.path / "views.py").write_text("x = eval('1')\n")
    second = scan_plugin(plugin)
    assert second.id != first.id and second.content_hash != first.content_hash
    assert second.verdict == "block"


def test_reuse_needs_same_tools_policy_and_youth(ctx, sample, monkeypatch):
    plugin = sample("clean")
    first = scan_plugin(plugin)
    monkeypatch.setattr(gate_module, "bandit_version", lambda: "0.0.1")
    second = scan_plugin(plugin)
    assert second.id != first.id and second.tool_versions["bandit"] == "0.0.1"
    ctx.config["REQUIRE_AUDIT"] = True
    third = scan_plugin(plugin)
    assert (
        third.id != second.id and third.policy_version == policy.POLICY_VERSION + "+require-audit"
    )
    assert scan_plugin(plugin).id == third.id
    third.created_at -= timedelta(hours=25)
    db.session.commit()
    assert scan_plugin(plugin).id != third.id
    ctx.config["SCAN_MAX_AGE_HOURS"] = 0
    assert scan_plugin(plugin).id != scan_plugin(plugin).id


def test_unaudited_record_is_not_reused(ctx, make_plugin):
    ctx.config["OSV_URL"] = unreachable_url()
    plugin = make_plugin("offline", deps=["click"])
    first = scan_plugin(plugin)
    assert (first.advisory_state, first.verdict) == ("unreachable", "warn")
    assert scan_plugin(plugin).id != first.id  # retried, not trusted


def test_upgraded_dependency_forces_a_rescan(ctx, make_plugin, site_dir, osv_server):
    ctx.config["OSV_URL"] = osv_server.url
    install_dist(site_dir, "fakedep", "0.5")
    plugin = make_plugin("upgrades", deps=["fakedep"])
    first = scan_plugin(plugin)
    assert first.tool_versions["dependencies"] == {"fakedep": "0.5"}
    for old in site_dir.glob("fakedep-*.dist-info"):
        for f in old.iterdir():
            f.unlink()
        old.rmdir()
    install_dist(site_dir, "fakedep", "0.6")
    second = scan_plugin(plugin)
    assert second.id != first.id and second.tool_versions["dependencies"] == {"fakedep": "0.6"}


def test_scanning_never_imports_the_plugin(ctx, make_plugin, tmp_path):
    marker = tmp_path / "imported"
    plugin = make_plugin("tripwire", {"__init__.py": f"open({str(marker)!r}, 'w').close()\n"})
    scan_plugin(plugin)
    assert not marker.exists()
    assert not any(m.endswith(".tripwire") for m in sys.modules)


def test_gate_blocks_critical(ctx, sample):
    with pytest.raises(ScanBlocked) as refused:
        check_gate(sample("code_exec"))
    assert isinstance(refused.value, GateRefused)
    assert refused.value.record.verdict == "block"
    assert str(refused.value) == (
        "code_exec: blocked by 2 CRITICAL findings: "
        "bandit B307 eval at __init__.py:2; "
        "bandit B102 exec_used at __init__.py:6"
    )
    assert "\n" not in str(refused.value)


def test_gate_blocks_even_with_accepted_risk(ctx, sample):
    with pytest.raises(ScanBlocked):
        check_gate(sample("shell"), accept_risk=True)


def test_gate_warns_and_refuses_without_confirmation(ctx, sample):
    plugin = sample("weak_tls")
    with pytest.raises(ConfirmationRequired) as refused:
        check_gate(plugin)
    assert str(refused.value).startswith("weak_tls: 1 HIGH finding needs confirmation")
    assert "bandit B501 request_with_no_cert_validation at __init__.py:5" in str(refused.value)
    assert (
        db.session.scalars(
            db.select(AuditLog).where(AuditLog.action == "plugin.risk_accepted")
        ).all()
        == []
    )


def test_gate_accepts_confirmed_risk_and_logs_it(ctx, sample):
    plugin = sample("weak_tls")
    record = check_gate(plugin, accept_risk=True, actor="admin@example.com")
    assert record.verdict == "warn"
    [entry] = db.session.scalars(
        db.select(AuditLog).where(AuditLog.action == "plugin.risk_accepted")
    ).all()
    assert (entry.actor, entry.target) == ("admin@example.com", "weak_tls")
    assert entry.details["scan_id"] == record.id
    assert entry.details["content_hash"] == plugin.content_hash()
    assert entry.details["findings"] == [
        "bandit B501 request_with_no_cert_validation at __init__.py:5"
    ]


def test_gate_passes_clean_and_informational_plugins(ctx, sample):
    assert check_gate(sample("clean")).verdict == "pass"
    info = check_gate(sample("informational"))
    assert info.verdict == "pass" and info.findings  # MEDIUM/LOW only inform
    assert (
        db.session.scalars(
            db.select(AuditLog).where(AuditLog.action == "plugin.risk_accepted")
        ).all()
        == []
    )


def test_gate_blocks_undeclared_hooks_and_unparsable_code(ctx, sample, make_plugin):
    with pytest.raises(ScanBlocked, match="files capabilities"):
        check_gate(sample("undeclared_hooks"))
    with pytest.raises(ScanBlocked, match="parse-error"):
        check_gate(make_plugin("broken", {"__init__.py": "def (:\n"}))
