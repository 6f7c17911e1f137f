"""Remember the security scan of unchanged plugin files within one test process.

The support and announcements tests each build a fresh panel and enable the plugins through
the real gate, which runs bandit over the store and the plugin every time (seconds each).
The scan of the same files with the same settings gives the same findings, so these suites
reuse them: the gate, its policy and the records are all still real; only bandit and the
advisory query are not repeated for bytes they already read. The gate's own tests never
use this.
"""

from __future__ import annotations

import pytest

_MEMO: dict[tuple, tuple] = {}


@pytest.fixture
def memoized_scans(monkeypatch):
    from kernel.security import gate

    real = gate.run_checks

    def run_checks(plugin, deps, *, osv_url, cache_dir, require_audit, snapshot=None):
        content = snapshot.content_hash if snapshot is not None else plugin.content_hash()
        key = (plugin.name, content, osv_url, require_audit,
               tuple(sorted(deps.pins.items())), tuple(sorted(deps.missing)))
        if key not in _MEMO:
            _MEMO[key] = real(plugin, deps, osv_url=osv_url, cache_dir=cache_dir,
                              require_audit=require_audit, snapshot=snapshot)
        findings, state = _MEMO[key]
        return list(findings), state

    monkeypatch.setattr(gate, "run_checks", run_checks)
