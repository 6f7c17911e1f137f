"""bandit through its API: our profile, # nosec and plugin config ignored, parse errors block."""

from __future__ import annotations

import pytest

from kernel.security import Severity, Verdict, verdict_for
from kernel.security.bandit_check import run_bandit


def scan(plugin):
    return run_bandit(plugin.snapshot())


def rules(findings, severity=None):
    return {f.rule for f in findings if severity is None or f.severity is severity}


def test_clean_sample_has_no_findings(sample):
    assert scan(sample("clean")) == []


def test_eval_and_exec_block_despite_nosec_and_the_plugins_bandit_config(sample):
    plugin = sample("code_exec")
    # the sample hides both behind "# nosec", .bandit, bandit.yaml and [tool.bandit] skips
    assert (plugin.path / ".bandit").exists() and (plugin.path / "pyproject.toml").exists()
    findings = scan(plugin)
    by_rule = {f.rule: f for f in findings}
    assert by_rule["B307"].severity is Severity.CRITICAL and by_rule["B307"].line == 2
    assert by_rule["B102"].severity is Severity.CRITICAL and by_rule["B102"].line == 6
    assert by_rule["B307"].file == "__init__.py"
    assert by_rule["B307"].brief() == "bandit B307 eval at __init__.py:2"
    assert verdict_for(findings) == Verdict.BLOCK


def test_nosec_hides_nothing_anywhere_on_the_line(make_plugin):
    plugin = make_plugin(
        "nosecs",
        {
            "__init__.py": """
        import os
        a = eval("1")  # nosec
        b = eval("2")  #nosec: B307
        c = eval("3")  # noqa  # nosec B307, B102
        os.system("true")  # nosec
    """
        },
    )
    findings = scan(plugin)
    assert sorted(f.line for f in findings if f.rule == "B307") == [3, 4, 5]
    assert [f.line for f in findings if f.rule == "B605"] == [6]


def test_shell_commands_block(sample):
    findings = scan(sample("shell"))
    assert {"B602", "B605"} <= rules(findings, Severity.CRITICAL)


def test_deserialisation_blocks(sample):
    findings = scan(sample("deserialize"))
    assert {"B301", "B302", "B506"} <= rules(findings, Severity.CRITICAL)
    assert "B403" in rules(findings, Severity.HIGH)  # import pickle: warns


def test_tls_without_verification_warns(sample):
    findings = scan(sample("weak_tls"))
    assert rules(findings, Severity.HIGH) == {"B501"}
    assert verdict_for(findings) == Verdict.WARN


def test_informational_findings_pass(sample):
    findings = scan(sample("informational"))
    assert {"B101", "B311", "B404"} <= rules(findings, Severity.LOW)
    assert {"B603", "B104"} <= rules(findings, Severity.MEDIUM)
    assert verdict_for(findings) == Verdict.PASS


def test_unparsable_file_blocks_with_its_line(make_plugin):
    plugin = make_plugin(
        "broken",
        {"__init__.py": "from . import helpers\n", "helpers.py": "def broken(:\n    pass\n"},
    )
    findings = scan(plugin)
    assert len(findings) == 1
    only = findings[0]
    assert (only.rule, only.severity, only.file, only.line) == (
        "parse-error",
        Severity.CRITICAL,
        "helpers.py",
        1,
    )
    assert verdict_for(findings) == Verdict.BLOCK


def test_null_bytes_and_bad_encoding_block(make_plugin):
    plugin = make_plugin(
        "binaryish", {"a.py": b"x = 1\x00\n", "b.py": b"# -*- coding: nope -*-\nx = 1\n"}
    )
    findings = scan(plugin)
    assert {(f.file, f.rule) for f in findings} == {
        ("a.py", "parse-error"),
        ("b.py", "parse-error"),
    }


def test_oversized_source_is_not_read_but_blocks(make_plugin, monkeypatch):
    from kernel.security import policy

    plugin = make_plugin("huge", {"big.py": "x = 1\n" * 100})
    monkeypatch.setattr(policy, "MAX_FILE_BYTES", 100)
    findings = scan(plugin)
    assert [(f.file, f.rule, f.severity) for f in findings] == [
        ("big.py", "parse-error", Severity.CRITICAL)
    ]


def test_every_python_file_is_scanned_including_subpackages(make_plugin):
    plugin = make_plugin(
        "deep",
        {
            "sub/__init__.py": "",
            "sub/inner/mod.py": "eval('1')\n",
            "tool.pyw": "exec('1')\n",
            "notes.txt": "eval('1')\n",
        },
    )
    findings = scan(plugin)
    assert {(f.file, f.rule) for f in findings} == {
        ("sub/inner/mod.py", "B307"),
        ("tool.pyw", "B102"),
    }


# One snippet per policy override: bandit reports the rule and the policy sets its level.
OVERRIDE_SNIPPETS = {
    "B102": "exec('x = 1')\n",
    "B307": "eval('1')\n",
    "B301": "import pickle\npickle.loads(b'')\n",
    "B302": "import marshal\nmarshal.loads(b'')\n",
    "B506": "import yaml\nyaml.load('a: 1')\n",
    "B614": "import torch\ntorch.load('model.pt')\n",
    "B602": "import subprocess\nsubprocess.Popen('ls', shell=True)\n",
    "B604": "def run(cmd, shell=False):\n    return cmd\n\n\nrun('ls', shell=True)\n",
    "B605": "import os\nos.system('ls')\n",
    "B609": "import os\nos.system('chmod 777 *')\n",
    "B612": "import logging.config\nlogging.config.listen(9999)\n",
    "B613": "access = 'user'  # \u202e \u2066check\u2069 \u2066admin\n",
    "B201": "from flask import Flask\napp = Flask(__name__)\napp.run(debug=True)\n",
    "B403": "import pickle\n",
    "B601": "import paramiko\nclient = paramiko.SSHClient()\nclient.exec_command('ls')\n",
    "B603": "import subprocess\nsubprocess.run(['ls'], check=False)\n",
    "B606": "import os\nos.execv('/bin/ls', ['ls'])\n",
    "B704": "from markupsafe import Markup\nhtml = Markup(render(page))\n",
}


def test_every_override_has_a_snippet():
    from kernel.security import policy

    assert set(OVERRIDE_SNIPPETS) == set(policy.BANDIT_OVERRIDES)


@pytest.mark.parametrize("test_id", sorted(OVERRIDE_SNIPPETS))
def test_each_override_is_found_with_the_policy_severity(make_plugin, test_id):
    from kernel.security import policy

    plugin = make_plugin(f"rule_{test_id.lower()}", {"__init__.py": OVERRIDE_SNIPPETS[test_id]})
    found = [f for f in scan(plugin) if f.rule == test_id]
    assert found, f"bandit did not report {test_id}"
    assert {f.severity for f in found} == {policy.BANDIT_OVERRIDES[test_id]}


def test_a_logging_config_listener_blocks(sample):
    """B612 on its own (bandit calls it MEDIUM): the policy raises it to CRITICAL."""
    findings = scan(sample("log_listener"))
    assert [(f.rule, f.severity, f.file, f.line) for f in findings] == [
        ("B612", Severity.CRITICAL, "__init__.py", 11)
    ]
    assert verdict_for(findings) == Verdict.BLOCK


@pytest.mark.parametrize("depth", [300, 800, 5000])
def test_a_module_nested_too_deeply_to_walk_blocks_instead_of_crashing_the_scan(make_plugin, depth):
    # x = 1 + a + a ... parses (up to a point) but is deeper than any check can walk
    # recursively: the scan used to die with RecursionError; now the module blocks
    from kernel.security.gate import code_findings

    plugin = make_plugin(
        f"deep{depth}", {"__init__.py": "import os\n", "deep.py": "x = 1" + " + a" * depth + "\n"}
    )
    findings = code_findings(plugin, plugin.snapshot())
    deep = [f for f in findings if f.file == "deep.py"]
    assert [(f.rule, f.severity) for f in deep] == [("parse-error", Severity.CRITICAL)]
    assert "nested" in deep[0].message
    assert verdict_for(findings) == Verdict.BLOCK
    assert run_bandit(plugin.snapshot(), stock=True) == run_bandit(plugin.snapshot(), stock=False)


def test_ordinary_nesting_is_analysed(make_plugin):
    plugin = make_plugin("nested_ok", {"__init__.py": "x = 1" + " + a" * 150 + "\neval(x)\n"})
    assert rules(scan(plugin)) == {"B307"}
