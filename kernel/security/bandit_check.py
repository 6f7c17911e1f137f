"""bandit over every Python source file of a plugin, through bandit's Python API.

The configuration is ours alone: an empty :class:`BanditConfig` (no file is
read, so a plugin's ``.bandit``, ``bandit.yaml`` or ``[tool.bandit]`` has no
effect), an explicit profile enabling every test bandit itself ships, and
``ignore_nosec=True``. A file bandit cannot parse is a CRITICAL finding.

bandit's tests run over the syntax trees already parsed for the other checks
(:mod:`kernel.security.bandit_walk`), from the snapshot's bytes (the very bytes
that are hashed and later imported): no folder of the plugin, ``__pycache__`` or
hidden ones included, is left out, and a file swapped on disk meanwhile is not
what bandit analyses. With a bandit version the walk does not mirror, bandit's
own manager runs instead, over a private temporary copy of those bytes at their
relative paths (bandit's manager reads files by path).
"""

from __future__ import annotations

import ast
import logging
import tempfile
import threading
from pathlib import Path

from kernel.plugins.files import Snapshot
from kernel.security import bandit_walk, policy
from kernel.security.findings import Finding
from kernel.security.sources import SOURCE_SUFFIXES, ParsedSources, is_source

CHECK = "bandit"
__all__ = ["SOURCE_SUFFIXES", "run_bandit", "bandit_version"]

# bandit keeps per-run state in module globals (the blacklist test's config):
# one scan at a time per process.
_LOCK = threading.Lock()


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


def run_bandit(
    snapshot: Snapshot, parsed: ParsedSources | None = None, *, stock: bool | None = None
) -> list[Finding]:
    """Findings for every Python source of the snapshot (symlinks are the file checks' job).

    ``stock`` picks bandit's own manager (True) or the shared-tree walk (False); by
    default the walk, when this bandit version is one it mirrors.
    """
    parsed = parsed or ParsedSources(snapshot)
    findings: list[Finding] = []
    for rel in sorted(snapshot.digests):
        if not is_source(rel) or rel in snapshot.symlinks:
            continue
        if rel in snapshot.unreadable:
            findings.append(_parse_error(rel, f"cannot be read ({snapshot.unreadable[rel]})"))
        elif rel in snapshot.large or len(parsed.sources[rel]) > policy.MAX_FILE_BYTES:
            findings.append(
                _parse_error(
                    rel, f"over the {policy.MAX_FILE_BYTES // (1024 * 1024)} MiB cap, not analysed"
                )
            )
    readable = {
        rel: data for rel, data in parsed.sources.items() if len(data) <= policy.MAX_FILE_BYTES
    }
    for rel in sorted(readable):
        parsed.tree(rel)  # notes the modules nested too deeply to analyse
        if rel in parsed.unanalysable:
            findings.append(_parse_error(rel, parsed.unanalysable[rel]))
    targets = {rel: data for rel, data in readable.items() if rel not in parsed.unanalysable}
    if not targets:
        return findings
    if stock is None:
        stock = not bandit_walk.supported()
    issues, skipped = (_run_stock if stock else _run_walk)(snapshot, targets, parsed)
    names, _ = _bandit_tests()
    for rel, issue in issues:
        name = names.get(issue.test_id, issue.test or issue.test_id)
        findings.append(
            Finding(
                check=CHECK,
                rule=issue.test_id,
                severity=policy.bandit_severity(issue.test_id, issue.severity, issue.confidence),
                file=rel,
                line=int(issue.lineno) if issue.lineno else None,
                message=f"{name}: {issue.text} (bandit: {issue.severity.lower()} severity, "
                f"{issue.confidence.lower()} confidence)",
            )
        )
    for rel, reason in skipped:
        why, line = _syntax_error(targets[rel], rel)
        findings.append(_parse_error(rel, f"bandit could not analyse it ({why or reason})", line))
    return findings


def _profile() -> dict:
    _, include = _bandit_tests()
    return {"include": include, "exclude": set()}


def _run_walk(snapshot: Snapshot, targets: dict[str, bytes], parsed: ParsedSources):
    """bandit's tests over the shared trees (:mod:`kernel.security.bandit_walk`)."""
    from bandit.core import config as b_config
    from bandit.core import test_set as b_test_set

    trees = {rel: parsed.tree(rel) for rel in targets}
    with _LOCK:
        # an empty config: never a plugin's file
        testset = b_test_set.BanditTestSet(b_config.BanditConfig(), _profile())
        issues, skipped = bandit_walk.run(trees, targets, testset, snapshot.root.name)
    prefix = bandit_walk.VIRTUAL_ROOT + "/"
    return [(issue.fname[len(prefix) :], issue) for issue in issues], skipped


def _run_stock(snapshot: Snapshot, targets: dict[str, bytes], parsed: ParsedSources):
    """bandit's own manager over a private copy of the sources (any bandit version)."""
    with tempfile.TemporaryDirectory(prefix="pteroca-scan-") as tmp:
        root = Path(tmp)
        for rel, data in targets.items():
            path = root / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        issues, skipped = _run(root, [str(root / rel) for rel in sorted(targets)], parsed)
    return (
        [(Path(issue.fname).relative_to(root).as_posix(), issue) for issue in issues],
        [(Path(fname).relative_to(root).as_posix(), reason) for fname, reason in skipped],
    )


def _run(root: Path, targets: list[str], parsed: ParsedSources):
    """bandit's manager over ``targets`` with our profile; (issues, skipped)."""
    from bandit.core import config as b_config
    from bandit.core import manager as b_manager
    from bandit.core import node_visitor as b_visitor

    with _LOCK:
        conf = b_config.BanditConfig()  # never a plugin's file
        manager = b_manager.BanditManager(
            conf, "file", quiet=True, ignore_nosec=True, profile=_profile()
        )
        manager.files_list = targets
        logger = logging.getLogger(b_manager.__name__)
        level = logger.level
        logger.setLevel(max(logging.WARNING, logger.getEffectiveLevel()))  # no rich progress bar
        real_ast = getattr(b_visitor, "ast", None)
        if real_ast is ast:  # hand bandit the trees already parsed for the other checks
            b_visitor.ast = _SharedAst(parsed)
        try:
            manager.run_tests()
        finally:
            logger.setLevel(level)
            if real_ast is ast:
                b_visitor.ast = real_ast
        return manager.get_issue_list(), manager.get_skipped()


class _SharedAst:
    """The ``ast`` module as bandit's visitor sees it, with ``parse`` served from the cache."""

    def __init__(self, parsed: ParsedSources):
        self.parse = parsed.bandit_parse

    def __getattr__(self, name):
        return getattr(ast, name)


def _parse_error(rel: str, why: str, line: int | None = None) -> Finding:
    return Finding(
        check=CHECK,
        rule="parse-error",
        severity=policy.PARSE_ERROR,
        file=rel,
        line=line,
        message=f"unparsable source: {why}; code the scanner cannot read cannot be vouched for",
    )


def _syntax_error(data: bytes, rel: str) -> tuple[str, int | None]:
    """Python's own account of why a source does not parse: (message, line)."""
    try:
        ast.parse(data, filename=rel)
    except SyntaxError as exc:
        return f"{exc.msg}", exc.lineno
    except (ValueError, OSError, RecursionError, MemoryError) as exc:  # null bytes, nesting
        return str(exc) or type(exc).__name__, None
    return "", None
