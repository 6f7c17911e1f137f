"""The policy alone turns findings into a verdict: CRITICAL blocks, HIGH warns, the rest informs."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from kernel.security import Finding, Severity, Verdict, policy, verdict_for

DOCS = Path(__file__).resolve().parents[2] / "docs" / "security.md"


def finding(severity: Severity, rule: str = "X1") -> Finding:
    return Finding("bandit", rule, severity, "a.py", 1, "x: y")


def test_severities_are_ordered():
    assert Severity.CRITICAL > Severity.HIGH > Severity.MEDIUM > Severity.LOW
    assert Severity.parse("high") is Severity.HIGH and str(Severity.LOW) == "LOW"


@pytest.mark.parametrize(
    "levels, verdict",
    [
        ([], Verdict.PASS),
        ([Severity.LOW, Severity.MEDIUM], Verdict.PASS),
        ([Severity.LOW, Severity.HIGH], Verdict.WARN),
        ([Severity.HIGH, Severity.CRITICAL, Severity.LOW], Verdict.BLOCK),
    ],
)
def test_verdict_is_the_worst_finding(levels, verdict):
    assert verdict_for([finding(s) for s in levels]) == verdict


def test_not_audited_is_high_unless_audit_is_required():
    unaudited = Finding(
        "pip-audit",
        policy.NOT_AUDITED_RULE,
        policy.not_audited_severity(False),
        "plugin.toml",
        None,
        "requests: not audited",
    )
    assert unaudited.severity is Severity.HIGH
    assert verdict_for([unaudited]) == Verdict.WARN  # never "pass": unaudited is not clean
    assert verdict_for([unaudited], require_audit=True) == Verdict.BLOCK
    assert policy.not_audited_severity(True) is Severity.CRITICAL


def test_policy_identity_includes_the_audit_switch():
    assert policy.policy_id(False) == policy.POLICY_VERSION
    assert policy.policy_id(True) != policy.policy_id(False)


@pytest.mark.parametrize(
    "test_id", ["B102", "B307", "B301", "B302", "B506", "B602", "B604", "B605", "B609", "B613"]
)
def test_code_execution_primitives_are_critical_whatever_bandit_says(test_id):
    assert policy.bandit_severity(test_id, "LOW", "LOW") is Severity.CRITICAL


@pytest.mark.parametrize(
    "sev, conf, ours",
    [
        ("HIGH", "HIGH", Severity.HIGH),
        ("HIGH", "LOW", Severity.MEDIUM),
        ("MEDIUM", "MEDIUM", Severity.MEDIUM),
        ("MEDIUM", "LOW", Severity.LOW),
        ("LOW", "HIGH", Severity.LOW),
    ],
)
def test_bandit_matrix(sev, conf, ours):
    assert policy.bandit_severity("B999", sev, conf) is ours


def test_advisories_with_a_fix_block_without_one_warn():
    assert policy.vulnerability_severity(True) is Severity.CRITICAL
    assert policy.vulnerability_severity(False) is Severity.HIGH


def test_finding_round_trips_and_reads_briefly():
    f = Finding("bandit", "B307", Severity.CRITICAL, "x.py", 3, "eval: Use of eval")
    assert Finding.from_dict(f.to_dict()) == f
    assert f.to_dict()["severity"] == "CRITICAL"
    assert f.brief() == "bandit B307 eval at x.py:3"


def test_docs_reproduce_every_override_and_file_rule():
    text = DOCS.read_text()
    for test_id, severity in policy.BANDIT_OVERRIDES.items():
        assert re.search(rf"\| *{test_id}\b[^\n]*\| *{severity.name} *\|", text), test_id
    for rule, severity in {**policy.FILE_RULES, **policy.AST_RULES}.items():
        assert re.search(rf"\| *`{rule}`[^\n]*\| *{severity.name} *\|", text), rule
    assert f"Policy version: {policy.POLICY_VERSION}" in text
