"""The kernel's import graph between its parts, read from the source (no import runs).

A *part* is a kernel subpackage (``kernel.accounts``) or top-level module (``kernel.mail``).
Every ``import`` statement counts, wherever it is: at module level, inside a function (a
lazy import hides a dependency, it does not remove it) or under ``TYPE_CHECKING``. The
package itself (``kernel/__init__.py``, the public API that resolves names on first use) is
not a part: plugins import it, the kernel's own modules import its markers from it.
"""

from __future__ import annotations

import ast
from pathlib import Path


def _module_name(root: Path, path: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_module(root: Path, dotted: str) -> bool:
    base = root.joinpath(*dotted.split("."))
    return base.with_suffix(".py").is_file() or (base / "__init__.py").is_file()


def imported_modules(root: Path, path: Path) -> set[str]:
    """Every ``kernel`` module ``path`` imports (``from kernel import x`` names a module when
    ``kernel/x`` is one)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    me = _module_name(root, path)
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against this module's package
                package = me.split(".")
                if not path.name == "__init__.py":
                    package = package[:-1]
                package = package[: len(package) - node.level + 1]
                base = ".".join(package + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            found.add(base)
            found.update(
                f"{base}.{alias.name}"
                for alias in node.names
                if _is_module(root, f"{base}.{alias.name}")
            )
    return {name for name in found if name == "kernel" or name.startswith("kernel.")}


def part_of(module: str) -> str | None:
    """``kernel.privacy.export`` -> ``kernel.accounts``; the package itself -> None."""
    pieces = module.split(".")
    return ".".join(pieces[:2]) if len(pieces) > 1 else None


def part_graph(root: Path) -> dict[str, set[str]]:
    """``{part: parts it imports}`` for the kernel under ``root`` (the folder holding it)."""
    graph: dict[str, set[str]] = {}
    for path in sorted((root / "kernel").rglob("*.py")):
        source = part_of(_module_name(root, path))
        if source is None:
            continue
        graph.setdefault(source, set())
        for target in map(part_of, imported_modules(root, path)):
            if target is not None and target != source:
                graph[source].add(target)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected parts of more than one member (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in sorted(graph.get(node, ())):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            members = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                members.append(member)
                if member == node:
                    break
            if len(members) > 1:
                found.append(sorted(members))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(found)


def cycle_edges(graph: dict[str, set[str]]) -> set[str]:
    """``"a -> b"`` for every import between two parts of the same cycle."""
    edges = set()
    for members in cycles(graph):
        inside = set(members)
        edges.update(f"{a} -> {b}" for a in members for b in graph[a] if b in inside)
    return edges
