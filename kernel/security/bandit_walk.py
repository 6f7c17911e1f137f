"""bandit's own tests over the scan's shared syntax trees, without bandit's per-node overhead.

Stock bandit (``BanditManager.run_tests``) reads each file from disk, parses it, and
for every one of its ~40,000 nodes per 5,000 lines builds a context dict (with a
list of every line the node spans), looks up a visitor method, calls the tester
(which allocates score tables and logs) even for node types no test handles, and
for every test it runs looks for ``# nosec`` comments. That bookkeeping, not the
tests, was two thirds of a cold scan.

This walk keeps everything a test can observe and drops the rest:

- the same traversal order, and ``_bandit_parent``/``_bandit_sibling`` set on every
  node (tests read them);
- for a node whose type has a visitor method or a test, bandit's own ``pre_visit``,
  ``visit`` (the same visitor methods, the same contexts, the same test calls, a
  fresh copy of the context per test) and ``post_visit``;
- for any other node (``Name``, ``Load``, ``Attribute``, ``arguments``, ...) nothing
  but the walk into its children: bandit would only have built a context no test
  reads and run an empty test list;
- no ``# nosec`` lookups: the scan runs with ``ignore_nosec`` (no comment is ever
  honoured), so they always found nothing; no scores or metrics (only reports use
  them).

It relies on bandit's internals, so :func:`supported` admits only the bandit series
it was checked against; any other falls back to the stock manager. The test
``tests/security/test_bandit_walk.py`` checks that this walk gives exactly the
stock manager's findings on the builtin plugins, the scaffold, the scan samples and
hostile sources.
"""

from __future__ import annotations

import ast
import io
import posixpath
from collections.abc import Iterable

# the bandit series whose visitor and tester this module mirrors
SUPPORTED_SERIES = ("1.9.",)
VIRTUAL_ROOT = "/pteroca-scan"  # file names tests see; nothing is read from there
NO_CONFIG = object()  # a test without ``_config`` is called with the context alone


def supported() -> bool:
    import bandit

    return bandit.__version__.startswith(SUPPORTED_SERIES)


def module_qualname(rel: str, sources: Iterable[str], package: str) -> str:
    """What bandit computes from the disk (``a.b.mod`` while ``__init__.py`` files go up),
    from the snapshot's file list instead; ``package`` names the plugin's own folder."""
    known = set(sources)
    head, tail = posixpath.split(rel)
    parts = [posixpath.splitext(tail)[0]]
    while True:
        if posixpath.join(head, "__init__.py") not in known:
            break
        if not head:
            parts.insert(0, package)
            break
        head, tail = posixpath.split(head)
        parts.insert(0, tail)
    return ".".join(parts)


def _classes():
    """The visitor and tester subclasses (built on first use: bandit is imported lazily)."""
    from bandit.core import context as b_context
    from bandit.core import node_visitor as b_visitor
    from bandit.core import tester as b_tester

    class Tester(b_tester.BanditTester):
        def __init__(self, testset, metrics):
            super().__init__(testset, False, {}, metrics)
            # checktype -> (test, its name, its config or NO_CONFIG), read once per file
            self.prepared = {
                check: [
                    (test, test.__name__, getattr(test, "_config", NO_CONFIG)) for test in tests
                ]
                for check, tests in testset.tests.items()
            }

        def run_tests(self, raw_context, checktype):
            """bandit's ``run_tests`` without scores and ``# nosec`` (never honoured here)."""
            for test, name, config in self.prepared.get(checktype, ()):
                temp_context = raw_context.copy()  # copy.copy of a dict
                context = b_context.Context(temp_context)
                try:
                    result = test(context) if config is NO_CONFIG else test(context, config)
                    if result is None:
                        continue
                    filename = temp_context["filename"]
                    result.fname = (
                        filename.decode("utf-8") if isinstance(filename, bytes) else filename
                    )
                    result.fdata = temp_context["file_data"]
                    if result.lineno is None:
                        result.lineno = temp_context["lineno"]
                    if result.linerange == []:
                        result.linerange = temp_context["linerange"]
                    if result.col_offset == -1:
                        result.col_offset = temp_context["col_offset"]
                    result.end_col_offset = temp_context.get("end_col_offset", 0)
                    result.test = name
                    if result.test_id == "":
                        result.test_id = test._test_id
                    self.results.append(result)
                except Exception as exc:  # as bandit: a crashing test is logged, not fatal
                    self.report_error(name, context, exc)
            return None

    class Visitor(b_visitor.BanditNodeVisitor):
        def __init__(self, fname, fdata, testset, metrics, namespace):
            super().__init__(fname, fdata, None, testset, False, {}, metrics)
            self.tester = Tester(testset, metrics)
            self.namespace = namespace
            # node types bandit does anything for: a visitor method or at least one test
            self.active = frozenset(
                [n[len("visit_") :] for n in dir(self) if n.startswith("visit_")]
                + [check for check, tests in testset.tests.items() if tests]
            )

        def update_scores(self, scores):
            """Scores feed bandit's reports only."""

        def generic_visit(self, node):
            """bandit's walk, one frame per level as in bandit, skipping inert nodes' bookkeeping."""
            active = self.active
            for field in node._fields:
                try:
                    value = getattr(node, field)
                except AttributeError:
                    continue
                if isinstance(value, list):
                    last = len(value) - 1
                    for idx, item in enumerate(value):
                        if isinstance(item, ast.AST):
                            item._bandit_sibling = value[idx + 1] if idx < last else None
                            item._bandit_parent = node
                            if item.__class__.__name__ in active:
                                self.pre_visit(item)
                                self.visit(item)
                                self.generic_visit(item)
                                self.post_visit(item)
                            else:
                                self.generic_visit(item)
                elif isinstance(value, ast.AST):
                    value._bandit_sibling = None
                    value._bandit_parent = node
                    if value.__class__.__name__ in active:
                        self.pre_visit(value)
                        self.visit(value)
                        self.generic_visit(value)
                        self.post_visit(value)
                    else:
                        self.generic_visit(value)

        def process_tree(self, tree: ast.Module):
            """bandit's ``process`` for a tree already parsed from this file's bytes."""
            self.generic_visit(tree)
            self.context = {
                "file_data": self.fdata,
                "filename": self.fname,
                "lineno": 0,
                "linerange": [0, 1],
                "col_offset": 0,
            }
            self.tester.run_tests(self.context, "File")
            return self.tester.results

    return Visitor


def run(
    trees: dict[str, ast.Module | None], sources: dict[str, bytes], testset, package: str
) -> tuple[list, list[tuple[str, str]]]:
    """(bandit issues, skipped (rel, reason)) for ``trees`` (rel -> tree, None if unparsable).

    Issues carry ``fname`` = ``VIRTUAL_ROOT/rel``. The caller holds bandit's lock
    (the test set's configuration lives in bandit's module globals).
    """
    from bandit.core import metrics as b_metrics

    visitor_class = _classes()
    metrics = b_metrics.Metrics()
    issues: list = []
    skipped: list[tuple[str, str]] = []
    for rel in sorted(trees):
        tree = trees[rel]
        if tree is None:
            skipped.append((rel, "syntax error while parsing AST from file"))
            continue
        visitor = visitor_class(
            f"{VIRTUAL_ROOT}/{rel}",
            io.BytesIO(sources[rel]),
            testset,
            metrics,
            module_qualname(rel, sources, package),
        )
        try:
            issues.extend(visitor.process_tree(tree))
        except Exception:  # as bandit's manager: the file is reported as not analysed
            skipped.append((rel, "exception while scanning file"))
    return issues, skipped
