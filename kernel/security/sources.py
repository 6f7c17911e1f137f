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


class ParsedSources:
    """rel -> bytes of every Python source in the snapshot, and their syntax trees on demand."""

    def __init__(self, snapshot: Snapshot):
        self.snapshot = snapshot
        self.sources: dict[str, bytes] = {
            rel: data for rel, data in snapshot.data.items()
            if is_source(rel) and rel not in snapshot.symlinks}
        self._trees: dict[str, ast.Module | None] = {}
        self._by_data: dict[bytes, ast.Module] = {}
        self._nodes: dict[str, list[ast.AST]] = {}

    def tree(self, rel: str) -> ast.Module | None:
        """The parsed module, or None when it does not parse (bandit reports that)."""
        if rel not in self._trees:
            try:
                tree = ast.parse(self.sources[rel], filename=rel)
            except (SyntaxError, ValueError):
                tree = None
            self._trees[rel] = tree
            if tree is not None:
                self._by_data[self.sources[rel]] = tree
        return self._trees[rel]

    def nodes(self, rel: str) -> list[ast.AST]:
        """Every node of the parsed module ``rel``, in :func:`ast.walk`'s order (made once)."""
        if rel not in self._nodes:
            tree = self.tree(rel)
            self._nodes[rel] = walk(tree) if tree is not None else []
        return self._nodes[rel]

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
    nodes = [tree]
    i = 0
    while i < len(nodes):
        node = nodes[i]
        i += 1
        for name in node._fields:
            value = getattr(node, name, None)
            if isinstance(value, list):
                nodes.extend(item for item in value if isinstance(item, ast.AST))
            elif isinstance(value, ast.AST):
                nodes.append(value)
    return nodes


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
