"""Remember the security scan of unchanged plugin files within one test process.

Most tests enable plugins through the real gate (the CLI, ``enable_plugin``, the admin), and
the gate runs its code checks (file checks, bandit, the dynamic-code rules) over every file of
the plugin each time: about half a second of CPU for the store or the Pterodactyl plugin, paid
again by every test that builds a panel with them (measured: more than half of the store
suite's time). The checks are a pure function of the files' bytes and the plugin's identity, so
the suite remembers their findings per process (:func:`install`): the gate, its policy, the
advisory audit and the records are all still real, and changed bytes (every test plugin
written to disk, every tampered file) are scanned afresh. The scanner's own tests
(tests/security) switch the memo off and always run the checks.

``memoized_scans`` goes further for the support and announcements suites: it also reuses the
advisory audit's outcome for the same dependency pins.
"""

from __future__ import annotations

import pytest

_MEMO: dict[tuple, tuple] = {}
_CODE_MEMO: dict[tuple, list] = {}
_STATE = {"on": True, "installed": False}


def install() -> None:
    """Wrap ``kernel.security.gate.code_findings`` with the process-wide memo (once)."""
    if _STATE["installed"]:
        return
    from kernel.security import gate

    real = gate.code_findings

    def code_findings(plugin, snapshot):
        if not _STATE["on"]:
            return real(plugin, snapshot)
        # The checks a test may replace are part of the key: a patched check is run.
        key = (
            plugin.name,
            plugin.source,
            plugin.module,
            str(plugin.path),
            plugin.distribution,
            snapshot.content_hash,
            gate.run_file_checks,
            gate.run_dynamic_code_checks,
            gate.run_bandit,
        )
        if key not in _CODE_MEMO:
            _CODE_MEMO[key] = real(plugin, snapshot)
        return list(_CODE_MEMO[key])  # findings are frozen; the list is the caller's

    code_findings.__wrapped__ = real
    gate.code_findings = code_findings
    _STATE["installed"] = True


@pytest.fixture
def real_scans():
    """The code checks run every time during this test (the scanner's own tests)."""
    _STATE["on"] = False
    try:
        yield
    finally:
        _STATE["on"] = True


@pytest.fixture
def memoized_scans(monkeypatch):
    from kernel.security import gate

    real = gate.run_checks

    def run_checks(plugin, deps, *, osv_url, cache_dir, require_audit, snapshot=None):
        content = snapshot.content_hash if snapshot is not None else plugin.content_hash()
        key = (
            plugin.name,
            content,
            osv_url,
            require_audit,
            tuple(sorted(deps.pins.items())),
            tuple(sorted(deps.missing)),
        )
        if key not in _MEMO:
            _MEMO[key] = real(
                plugin,
                deps,
                osv_url=osv_url,
                cache_dir=cache_dir,
                require_audit=require_audit,
                snapshot=snapshot,
            )
        findings, state = _MEMO[key]
        return list(findings), state

    monkeypatch.setattr(gate, "run_checks", run_checks)
