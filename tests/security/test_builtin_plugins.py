"""Every builtin plugin goes through the same gate as any other, and passes it cleanly."""

from __future__ import annotations

import pytest

from kernel.plugins.discovery import discover_entry_points
from kernel.security import check_gate

BUILTINS = sorted(p.name for p in discover_entry_points() if p.distribution == "pteroca")


def test_builtin_plugins_are_found():
    assert "hello_world" in BUILTINS


@pytest.mark.parametrize("name", BUILTINS)
def test_builtin_plugin_passes_the_gate(app, osv_server, name):
    plugin = {p.name: p for p in discover_entry_points()}[name]
    assert app.config["OSV_URL"] == osv_server.url  # a service that knows no vulnerability
    with app.app_context():
        record = check_gate(plugin)  # raises on block, and on warn without confirmation
    assert record.verdict == "pass", record.findings
    assert not [f for f in record.finding_objects() if f.severity.name in ("CRITICAL", "HIGH")]
    if plugin.manifest.python_dependencies:
        assert record.advisory_state == "ok" and osv_server.queries  # really audited
    else:
        assert record.advisory_state == "none"
