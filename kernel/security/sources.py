"""The Python sources of a scan's snapshot, each parsed once for every check that reads it.

bandit, the capability check and the dynamic-code rules all read the same syntax
trees, so each file is parsed once (bandit is handed the tree through
:meth:`ParsedSources.bandit_parse`), and the rules that look for a few node types
anywhere in a module (imports, assignments, decorated functions) share one list of
its nodes (:meth:`ParsedSources.nodes`) instead of each walking the tree again.
"""

from __future__ import annotations

import ast
import gc
import importlib.machinery
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from kernel.plugins.files import Snapshot

SOURCE_SUFFIXES = frozenset(importlib.machinery.SOURCE_SUFFIXES) | {".py", ".pyw"}


def is_source(rel: str) -> bool:
    dot = rel.rfind(".")
    return dot > rel.rfind("/") and rel[dot:] in SOURCE_SUFFIXES


# Syntax-tree levels a module may have. The checks walk trees recursively, a few frames per
# level, so a module nested deeper (``x = a + a + ... + a`` a thousand times) would exhaust the
# interpreter's stack mid-scan; it is reported as unreadable instead (CRITICAL, like a syntax
# error). No real module comes close: the deepest in the standard library and this
# virtualenv's packages is about 40 levels, only generated tables go past 100.
MAX_NESTING = 200


class ParsedSources:
    """rel -> bytes of every Python source in the snapshot, and their syntax trees on demand."""

    def __init__(self, snapshot: Snapshot):
        self.snapshot = snapshot
        self.sources: dict[str, bytes] = {
            rel: data
            for rel, data in snapshot.data.items()
            if is_source(rel) and rel not in snapshot.symlinks
        }
        self._trees: dict[str, ast.Module | None] = {}
        self._by_data: dict[bytes, ast.Module] = {}
        self._nodes: dict[str, list[ast.AST]] = {}
        # rel -> why a module that Python can (or nearly can) parse is not analysed
        self.unanalysable: dict[str, str] = {}

    def tree(self, rel: str) -> ast.Module | None:
        """The parsed module, or None when it does not parse or nests too deeply to analyse
        (bandit's check reports both)."""
        if rel not in self._trees:
            tree = None
            try:
                tree = ast.parse(self.sources[rel], filename=rel)
            except (SyntaxError, ValueError):
                pass
            except (RecursionError, MemoryError):
                self.unanalysable[rel] = "nested too deeply for Python's own parser"
            if tree is not None:
                nodes, depth = walk_levels(tree)
                if depth > MAX_NESTING:
                    self.unanalysable[rel] = (
                        f"nested {depth} levels deep, more than the {MAX_NESTING} the scanner reads"
                    )
                    tree = None
                else:
                    self._nodes[rel] = nodes
                    self._by_data[self.sources[rel]] = tree
            self._trees[rel] = tree
        return self._trees[rel]

    def nodes(self, rel: str) -> list[ast.AST]:
        """Every node of the parsed module ``rel``, in :func:`ast.walk`'s order (made once)."""
        self.tree(rel)
        return self._nodes.get(rel, [])

    def trees(self) -> dict[str, ast.Module]:
        return {rel: tree for rel in sorted(self.sources) if (tree := self.tree(rel)) is not None}

    def release(self) -> None:
        """Drop the trees, first unlinking the parent reference bandit adds to every node
        (its only back-link): without it a tree has no reference cycle and is freed at once,
        instead of lying in memory until a full garbage collection walks the whole process."""
        for rel in self._trees:
            for node in self.nodes(rel):
                node.__dict__.pop("_bandit_parent", None)
        self._trees.clear()
        self._nodes.clear()
        self._by_data.clear()

    def bandit_parse(self, data, *args, **kwargs):
        """``ast.parse`` as bandit calls it: the tree already made for these bytes, if any."""
        tree = self._by_data.get(data) if isinstance(data, bytes) else None
        return tree if tree is not None else ast.parse(data, *args, **kwargs)


def walk(tree: ast.AST) -> list[ast.AST]:
    """``list(ast.walk(tree))``: the same nodes in the same (breadth-first) order, faster."""
    return walk_levels(tree)[0]


def walk_levels(tree: ast.AST) -> tuple[list[ast.AST], int]:
    """(:func:`walk`'s list, how many levels deep the tree is), from one pass, level by level."""
    nodes = [tree]
    start = depth = 0
    while start < len(nodes):
        depth += 1
        end = len(nodes)
        for i in range(start, end):
            node = nodes[i]
            for name in node._fields:
                value = getattr(node, name, None)
                if isinstance(value, list):
                    nodes.extend(item for item in value if isinstance(item, ast.AST))
                elif isinstance(value, ast.AST):
                    nodes.append(value)
        start = end
    return nodes, depth


_GC_LOCK = threading.Lock()
_gc_pause = {"depth": 0, "was_enabled": False}


@contextmanager
def paused_gc() -> Iterator[None]:
    """The cyclic garbage collector off while a scan's checks run (for the whole process).

    A scan allocates about ten syntax-tree nodes per line of plugin code, all alive
    until it ends. With the collector on, they trigger a young collection every few
    hundred allocations and, once enough of them were promoted, a full collection that
    walks the whole heap of the process (a web worker's app, its ORM, its caches):
    about a third of a cold scan's CPU time. Nothing a scan allocates needs the
    collector (:meth:`ParsedSources.release` breaks bandit's parent links, the only
    cycles), so it resumes when the checks end. Nested and concurrent scans share one
    pause; a collector that was already off stays off.
    """
    with _GC_LOCK:
        if _gc_pause["depth"] == 0:
            _gc_pause["was_enabled"] = gc.isenabled()
            gc.disable()
        _gc_pause["depth"] += 1
    try:
        yield
    finally:
        with _GC_LOCK:
            _gc_pause["depth"] -= 1
            if _gc_pause["depth"] == 0 and _gc_pause["was_enabled"]:
                gc.enable()
