"""``pteroca plugin scan [NAME|--all] [--json] [--force]`` and the gate inside ``plugin enable``."""

from __future__ import annotations

import json

from kernel.extensions import db
from kernel.models import AuditLog


def scan_json(cli, *args):
    result = cli("plugin", "scan", *args, "--json")
    return result, json.loads(result.stdout)


def test_scan_one_plugin_human(app, plugins_dir, cli, sample):
    sample("weak_tls", into=plugins_dir)
    result = cli("plugin", "scan", "weak_tls")
    assert result.exit_code == 0  # warn does not fail the command
    lines = result.output.splitlines()
    assert lines[0].split()[:4] == ["PLUGIN", "VERSION", "VERDICT", "ADVISORIES"]
    assert lines[1].split()[:4] == ["weak_tls", "1.0.0", "warn", "none"]
    assert "B501" in result.output and "__init__.py:5" in result.output


def test_scan_json_and_exit_1_when_blocked(app, plugins_dir, cli, sample):
    sample("shell", into=plugins_dir)
    result, rows = scan_json(cli, "shell")
    assert result.exit_code == 1
    [row] = rows
    assert (row["plugin"], row["version"], row["verdict"], row["advisory_state"]) == (
        "shell",
        "1.0.0",
        "block",
        "none",
    )
    assert {"B602", "B605"} <= {f["rule"] for f in row["findings"]}
    assert set(row["findings"][0]) == {"check", "rule", "severity", "file", "line", "message"}
    assert row["counts"]["CRITICAL"] >= 2 and row["content_hash"] and row["tool_versions"]


def test_scan_all_with_progress(app, plugins_dir, cli, sample):
    for name in ("clean", "informational", "code_exec"):
        sample(name, into=plugins_dir)
    result, rows = scan_json(cli, "--all")
    assert result.exit_code == 1  # code_exec blocks
    verdicts = {r["plugin"]: r["verdict"] for r in rows}
    assert verdicts["clean"] == "pass" and verdicts["informational"] == "pass"
    assert verdicts["code_exec"] == "block"
    assert "scanning plugins" in result.stderr  # the progress bar goes to stderr


def test_scan_all_passes_when_nothing_blocks(app, plugins_dir, cli, sample):
    sample("clean", into=plugins_dir)
    result, rows = scan_json(cli, "--all")
    assert result.exit_code == 0 and all(r["verdict"] != "block" for r in rows)


def test_reuse_and_force(app, plugins_dir, cli, sample):
    sample("clean", into=plugins_dir)
    _, first = scan_json(cli, "clean")
    _, again = scan_json(cli, "clean")
    _, forced = scan_json(cli, "clean", "--force")
    assert first[0]["id"] == again[0]["id"] != forced[0]["id"]


def test_unknown_name_is_one_line_exit_2(app, cli):
    result = cli("plugin", "scan", "nope")
    assert result.exit_code == 2
    assert result.output.strip().startswith("error: no plugin named 'nope'")
    assert len(result.output.strip().splitlines()) == 1


def test_name_or_all_is_required(app, cli):
    assert cli("plugin", "scan").exit_code == 2
    assert cli("plugin", "scan", "x", "--all").exit_code == 2


def test_enable_refuses_high_without_accept_risk_and_logs_acceptance(app, plugins_dir, cli, sample):
    sample("weak_tls", into=plugins_dir)
    refused = cli("plugin", "enable", "weak_tls")
    assert refused.exit_code == 1
    assert "weak_tls: 1 HIGH finding needs confirmation" in refused.output
    accepted = cli("plugin", "enable", "weak_tls", "--accept-risk")
    assert accepted.exit_code == 0, accepted.output
    with app.app_context():
        [entry] = db.session.scalars(
            db.select(AuditLog).where(AuditLog.action == "plugin.risk_accepted")
        ).all()
        assert entry.actor == "cli" and entry.target == "weak_tls"


def test_enable_blocks_critical_and_marks_the_plugin_blocked(app, plugins_dir, cli, sample):
    sample("code_exec", into=plugins_dir)
    result = cli("plugin", "enable", "code_exec", "--accept-risk")
    assert result.exit_code == 1
    assert "code_exec: blocked by 2 CRITICAL findings" in result.output
    info = json.loads(cli("plugin", "info", "code_exec", "--json").output)
    assert info["state"] == "blocked" and info["scan"]["verdict"] == "block"


def test_enable_blocks_a_plugin_that_listens_for_logging_config(app, plugins_dir, cli, sample):
    sample("log_listener", into=plugins_dir)
    result = cli("plugin", "enable", "log_listener", "--accept-risk")
    assert result.exit_code == 1
    assert "log_listener: blocked by 1 CRITICAL finding" in result.output
    info = json.loads(cli("plugin", "info", "log_listener", "--json").output)
    assert info["state"] == "blocked" and info["scan"]["verdict"] == "block"
