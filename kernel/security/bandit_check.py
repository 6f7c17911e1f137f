"""bandit over every Python source file of a plugin, through bandit's Python API.

The configuration is ours alone: an empty :class:`BanditConfig` (no file is
read, so a plugin's ``.bandit``, ``bandit.yaml`` or ``[tool.bandit]`` has no
effect), an explicit profile enabling every test bandit itself ships, and
``ignore_nosec=True``. A file bandit cannot parse is a CRITICAL finding.
"""

from __future__ import annotations

import ast
import importlib.machinery
import logging
import threading
from pathlib import Path

from kernel.security import policy
from kernel.security.findings import Finding

CHECK = "bandit"
SOURCE_SUFFIXES = frozenset(importlib.machinery.SOURCE_SUFFIXES) | {".py", ".pyw"}

# bandit keeps per-run state in module globals (the blacklist test's config):
# one scan at a time per process.
_LOCK = threading.Lock()


def python_sources(files: list[Path]) -> list[Path]:
    """The files Python could import as source (symlinks are judged by the file checks)."""
    return [p for p in files if p.suffix in SOURCE_SUFFIXES and not p.is_symlink()]


def bandit_version() -> str:
    import bandit

    return bandit.__version__


def _bandit_tests() -> tuple[dict[str, str], set[str]]:
    """Test id -> name for every test that bandit itself ships, and the profile include set."""
    from bandit.core import extension_loader

    manager = extension_loader.MANAGER
    names: dict[str, str] = {}
    for test_id, plugin in manager.plugins_by_id.items():
        if plugin.plugin.__module__.startswith("bandit."):
            names[test_id] = plugin.name
    for tests in manager.blacklist.values():
        for test in tests:
            names.setdefault(test["id"], test["name"])
    return names, set(names)


def run_bandit(root: Path, files: list[Path]) -> list[Finding]:
    """Findings for the Python sources among ``files`` (all below ``root``)."""
    from bandit.core import config as b_config
    from bandit.core import manager as b_manager

    findings: list[Finding] = []
    targets: list[str] = []
    for path in python_sources(files):
        rel = path.relative_to(root).as_posix()
        try:
            size = path.stat().st_size
        except OSError as exc:
            findings.append(_parse_error(rel, f"cannot be read ({exc.strerror})"))
            continue
        if size > policy.MAX_FILE_BYTES:
            findings.append(_parse_error(
                rel, f"over the {policy.MAX_FILE_BYTES // (1024 * 1024)} MiB cap, not analysed"))
            continue
        targets.append(str(path))
    if not targets:
        return findings

    names, include = _bandit_tests()
    with _LOCK:
        conf = b_config.BanditConfig()  # never a plugin's file
        manager = b_manager.BanditManager(conf, "file", quiet=True, ignore_nosec=True,
                                          profile={"include": include, "exclude": set()})
        manager.files_list = targets
        logger = logging.getLogger(b_manager.__name__)
        level = logger.level
        logger.setLevel(max(logging.WARNING, logger.getEffectiveLevel()))  # no rich progress bar
        try:
            manager.run_tests()
        finally:
            logger.setLevel(level)
        issues = manager.get_issue_list()
        skipped = manager.get_skipped()

    for issue in issues:
        rel = Path(issue.fname).relative_to(root).as_posix()
        name = names.get(issue.test_id, issue.test or issue.test_id)
        findings.append(Finding(
            check=CHECK, rule=issue.test_id,
            severity=policy.bandit_severity(issue.test_id, issue.severity, issue.confidence),
            file=rel, line=int(issue.lineno) if issue.lineno else None,
            message=f"{name}: {issue.text} (bandit: {issue.severity.lower()} severity, "
                    f"{issue.confidence.lower()} confidence)",
        ))
    for fname, reason in skipped:
        path = Path(fname)
        why, line = _syntax_error(path)
        findings.append(_parse_error(path.relative_to(root).as_posix(),
                                     f"bandit could not analyse it ({why or reason})", line))
    return findings


def _parse_error(rel: str, why: str, line: int | None = None) -> Finding:
    return Finding(check=CHECK, rule="parse-error", severity=policy.PARSE_ERROR, file=rel,
                   line=line, message=f"unparsable source: {why}; code the scanner cannot read "
                                      "cannot be vouched for")


def _syntax_error(path: Path) -> tuple[str, int | None]:
    """Python's own account of why ``path`` does not parse: (message, line)."""
    try:
        ast.parse(path.read_bytes(), filename=str(path))
    except SyntaxError as exc:
        return f"{exc.msg}", exc.lineno
    except (ValueError, OSError) as exc:  # null bytes, unreadable
        return str(exc), None
    return "", None
