"""The scan policy: the one place that decides how bad a finding is and what it means.

Checks report what they see; every severity they attach comes from the tables
below, and :func:`verdict_for` turns findings into a verdict. Nothing a plugin
ships (``# nosec``, ``.bandit``, ``[tool.bandit]``, ...) is consulted. Change a
table -> bump :data:`POLICY_VERSION`, so stored scan records are not reused.
docs/security.md reproduces these tables; keep them in step.
"""

from __future__ import annotations

from collections.abc import Iterable

from kernel.security.findings import Finding, Severity, Verdict

POLICY_VERSION = "4"  # 2: sensitive capabilities; 3: dynamic-code rules, every folder scanned;
# 4: a module nested deeper than sources.MAX_NESTING levels is a parse-error

C, H, M, L = Severity.CRITICAL, Severity.HIGH, Severity.MEDIUM, Severity.LOW

# bandit's (issue severity, confidence) -> ours, for tests without an override.
BANDIT_MATRIX: dict[tuple[str, str], Severity] = {
    ("HIGH", "HIGH"): H,
    ("HIGH", "MEDIUM"): H,
    ("HIGH", "LOW"): M,
    ("MEDIUM", "HIGH"): M,
    ("MEDIUM", "MEDIUM"): M,
    ("MEDIUM", "LOW"): L,
    ("LOW", "HIGH"): L,
    ("LOW", "MEDIUM"): L,
    ("LOW", "LOW"): L,
}

# Per-test overrides, whatever bandit's own levels say. CRITICAL: running code
# or commands the plugin did not ship as reviewable source.
BANDIT_OVERRIDES: dict[str, Severity] = {
    "B102": C,  # exec
    "B307": C,  # eval
    "B301": C,  # pickle.load(s) and friends: deserialising runs code
    "B302": C,  # marshal.load(s)
    "B506": C,  # yaml.load without a safe loader
    "B614": C,  # torch.load: pickle underneath
    "B602": C,  # subprocess with shell=True
    "B604": C,  # any call with shell=True
    "B605": C,  # os.system, os.popen, ...: a shell
    "B609": C,  # wildcard injection in a shell command
    "B612": C,  # logging.config.listen: accepts code over a socket
    "B613": C,  # trojan source: bidirectional control characters hide code
    "B201": C,  # Flask debug=True: the Werkzeug console runs code
    "B403": H,  # import pickle (and similar): deserialisation is near
    "B601": H,  # paramiko exec_command: a remote shell
    "B603": M,  # subprocess without a shell: informs that processes are spawned
    "B606": M,  # os.exec*/os.spawn*: the same
    # Markup() on a value: plugin hooks return HTML fragments rendered from autoescaped
    # templates, and those must be wrapped in Markup; whether user input reaches the page
    # unescaped is decided in the template, which bandit does not read. Informational.
    "B704": L,
}

# A file bandit cannot parse (or an oversized source it will not read, or one nested too
# deeply for the checks to walk) hides code from them.
PARSE_ERROR = C

# File rules (check "files").
FILE_RULES: dict[str, Severity] = {
    "pth-file": C,  # .pth: executed by every interpreter start
    "editable-pth": M,  # setuptools editable-install .pth of a pip-installed plugin
    "compiled-extension": C,  # .so/.pyd/...: native code no scanner reads
    "orphan-bytecode": C,  # .pyc without its source: code hidden from review
    "bytecode-mismatch": C,  # __pycache__ bytecode plain Python would load, not the source's
    "stray-bytecode": L,  # .pyc beside its source: never imported, still odd
    "cached-bytecode": L,  # __pycache__ of a source: pteroca compiles the source instead
    "outside-package": H,  # code a pip-installed plugin's distribution puts beside the package
    "symlink-escape": C,  # a symlink pointing out of the plugin folder
    "archive-with-code": C,  # a zip holding Python or native code: zipimport runs it unscanned
    "archive": H,  # any other nested archive: its contents are not scanned
    "oversized": H,  # over MAX_FILE_BYTES
    "unreadable": C,  # a file the scanner cannot read cannot be vouched for
    "capabilities": C,  # hooks in the code that plugin.toml does not declare
    "sensitive-capability": H,  # plain-text passwords, every outgoing email: the admin confirms
    "manifest": C,  # no valid plugin.toml / no files: nothing can be checked
}

MAX_FILE_BYTES = 5 * 1024 * 1024

# The kernel's dynamic-code rules (check "ast", kernel/security/dynamic_code.py): at least
# HIGH, so each needs an admin's confirmation; running bytes read from a file blocks.
AST_RULES: dict[str, Severity] = {
    "dynamic-exec": H,  # exec/eval/compile: code no scan has read
    "builtins-reflection": H,  # getattr on builtins or a computed module: any function by name
    "dynamic-import": H,  # __import__/import_module with a computed name
    "import-machinery": H,  # loaders, finders, zipimport, runpy, sys.meta_path
    "code-objects": H,  # types.FunctionType/CodeType, marshal, __code__
    "native-ffi": H,  # ctypes, cffi: native code
    "file-to-code": C,  # a file's contents run as code: bypasses the verified loader
    "sql-string-building": H,  # SQL text from f-strings, %, + or .format: injection
}

# pip-audit (check "pip-audit").
VULNERABLE_FIX_AVAILABLE = C
VULNERABLE_NO_FIX = H
NOT_AUDITED = H  # CRITICAL with PTEROCA_REQUIRE_AUDIT=1
NOT_AUDITED_RULE = "not-audited"


def policy_id(require_audit: bool) -> str:
    """What a scan record stores as its policy: the version plus the switches that matter."""
    return POLICY_VERSION + ("+require-audit" if require_audit else "")


def bandit_severity(test_id: str, severity: str, confidence: str) -> Severity:
    if test_id in BANDIT_OVERRIDES:
        return BANDIT_OVERRIDES[test_id]
    return BANDIT_MATRIX.get((severity.upper(), confidence.upper()), M)


def file_severity(rule: str) -> Severity:
    return FILE_RULES[rule]


def ast_severity(rule: str) -> Severity:
    return AST_RULES[rule]


def vulnerability_severity(fix_available: bool) -> Severity:
    return VULNERABLE_FIX_AVAILABLE if fix_available else VULNERABLE_NO_FIX


def not_audited_severity(require_audit: bool) -> Severity:
    return Severity.CRITICAL if require_audit else NOT_AUDITED


def effective_severity(finding: Finding, require_audit: bool) -> Severity:
    if finding.rule == NOT_AUDITED_RULE and require_audit:
        return Severity.CRITICAL
    return finding.severity


def verdict_for(findings: Iterable[Finding], require_audit: bool = False) -> Verdict:
    """CRITICAL blocks; HIGH warns (needs confirmation); MEDIUM and LOW only inform."""
    worst = max((effective_severity(f, require_audit) for f in findings), default=None)
    if worst is None or worst < Severity.HIGH:
        return Verdict.PASS
    return Verdict.BLOCK if worst >= Severity.CRITICAL else Verdict.WARN
