"""Every builtin plugin goes through the same gate as any other, and passes it cleanly."""

from __future__ import annotations

import pytest

from kernel.plugins.capabilities import SENSITIVE_CAPABILITIES
from kernel.plugins.discovery import discover_entry_points
from kernel.security import check_gate

BUILTINS = sorted(p.name for p in discover_entry_points() if p.distribution == "pteroca")


def test_builtin_plugins_are_found():
    assert "hello_world" in BUILTINS


@pytest.mark.parametrize("name", BUILTINS)
def test_builtin_plugin_passes_the_gate(app, osv_server, name):
    """Cleanly: the only HIGH findings are the sensitive capabilities a plugin declares (the
    admin confirms them), never something in its code."""
    plugin = {p.name: p for p in discover_entry_points()}[name]
    sensitive = sorted(set(plugin.manifest.capabilities) & set(SENSITIVE_CAPABILITIES))
    assert app.config["OSV_URL"] == osv_server.url  # a service that knows no vulnerability
    with app.app_context():
        # raises on block, and on warn without confirmation
        record = check_gate(plugin, accept_risk=bool(sensitive))
        assert record.verdict == ("warn" if sensitive else "pass"), record.findings
        severe = [f for f in record.finding_objects() if f.severity.name in ("CRITICAL", "HIGH")]
        assert [f.rule for f in severe] == ["sensitive-capability"] * len(sensitive)
        assert all(any(repr(c) in f.message for f in severe) for c in sensitive)
        if plugin.manifest.python_dependencies:
            assert record.advisory_state == "ok" and osv_server.queries  # really audited
        else:
            assert record.advisory_state == "none"
