"""The scan gate: bandit, pip-audit and file checks -> findings -> policy -> verdict.

No plugin is imported before it passes: see docs/security.md. Importing this
package registers the ``scan_record`` table.
"""

from __future__ import annotations

from kernel.security.findings import Finding, Severity, Verdict
from kernel.security.gate import (
    ConfirmationRequired,
    GateRefused,
    ScanBlocked,
    check_gate,
    latest_scan,
    scan_plugin,
)
from kernel.security.models import ScanRecord
from kernel.security.policy import POLICY_VERSION, verdict_for

__all__ = [
    "POLICY_VERSION",
    "ConfirmationRequired",
    "Finding",
    "GateRefused",
    "ScanBlocked",
    "ScanRecord",
    "Severity",
    "Verdict",
    "check_gate",
    "latest_scan",
    "scan_plugin",
    "verdict_for",
]
