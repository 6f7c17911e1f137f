"""Which hooks a plugin's code implements, read from its source with ``ast`` (never imported).

A function counts as a hook implementation when it is decorated with (or
wrapped in) ``hookimpl`` under any spelling we can see statically:
``@hookimpl``, ``@kernel.hookimpl``, ``@hookimpl(tryfirst=True)``, an alias
imported ``as`` another name or assigned from one, or a marker made with
``pluggy.HookimplMarker(...)``. ``specname=`` names the hook when given.
The loader checks the real hooks again after import; this check refuses a
lying manifest before any import happens.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

MARKER_NAME = "hookimpl"
MARKER_FACTORY = "HookimplMarker"


@dataclass(frozen=True)
class HookUse:
    hook: str
    file: Path
    line: int


def _is_marker(node: ast.expr, aliases: set[str]) -> bool:
    """``node`` is the hookimpl marker itself (not a call of it)."""
    if isinstance(node, ast.Name):
        return node.id in aliases
    if isinstance(node, ast.Attribute):
        return node.attr == MARKER_NAME
    if isinstance(node, ast.Call):  # HookimplMarker("pteroca") used inline
        return _factory_call(node)
    return False


def _factory_call(node: ast.expr) -> bool:
    if not isinstance(node, ast.Call):
        return False
    func = node.func
    if isinstance(func, ast.Name):
        return func.id == MARKER_FACTORY
    return isinstance(func, ast.Attribute) and func.attr == MARKER_FACTORY


def _marker_aliases(nodes: list[ast.AST]) -> set[str]:
    aliases = {MARKER_NAME}
    candidates = [n for n in nodes if isinstance(n, (ast.ImportFrom, ast.Assign))]
    changed = True
    while changed:  # aliases of aliases
        changed = False
        for node in candidates:
            new: list[str] = []
            if isinstance(node, ast.ImportFrom):
                new = [a.asname or a.name for a in node.names if a.name == MARKER_NAME]
            elif isinstance(node, ast.Assign) and (
                _is_marker(node.value, aliases) or _factory_call(node.value)
            ):
                new = [t.id for t in node.targets if isinstance(t, ast.Name)]
            for name in new:
                if name not in aliases:
                    aliases.add(name)
                    changed = True
    return aliases


def _marker_use(node: ast.expr, aliases: set[str]) -> tuple[bool, str | None]:
    """(is a hookimpl decoration, specname) for a decorator or wrapper expression."""
    if _is_marker(node, aliases):
        return True, None
    if isinstance(node, ast.Call) and _is_marker(node.func, aliases):
        for kw in node.keywords:
            if kw.arg == "specname" and isinstance(kw.value, ast.Constant):
                return True, str(kw.value.value)
        return True, None
    return False, None


def hooks_in_source(source: bytes | str, path: Path) -> list[HookUse]:
    """Hook implementations defined in one module; a module that does not parse yields none."""
    try:
        tree = ast.parse(source, filename=str(path))
    except (SyntaxError, ValueError):
        return []  # bandit reports unparsable files as CRITICAL
    return hooks_in_tree(tree, path)


def hooks_in_tree(
    tree: ast.Module, path: Path, nodes: list[ast.AST] | None = None
) -> list[HookUse]:
    """Hook implementations defined in one parsed module.

    ``nodes`` is the module's nodes in :func:`ast.walk` order, when the caller has them
    (:meth:`kernel.security.sources.ParsedSources.nodes`); otherwise the tree is walked.
    """
    nodes = list(ast.walk(tree)) if nodes is None else nodes
    aliases = _marker_aliases(nodes)
    uses: list[HookUse] = []
    for node in nodes:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for deco in node.decorator_list:
                marked, specname = _marker_use(deco, aliases)
                if marked:
                    uses.append(HookUse(specname or node.name, path, node.lineno))
                    break
        elif isinstance(node, ast.Assign) and isinstance(node.value, ast.Call):
            # register_blueprints = hookimpl(_impl)  or  hookimpl(specname="x")(_impl)
            wrapper = node.value.func
            marked, specname = _marker_use(wrapper, aliases)
            if marked and node.value.args:
                for target in node.targets:
                    if isinstance(target, ast.Name):
                        uses.append(HookUse(specname or target.id, path, node.lineno))
    return uses


def hooks_in_files(files: list[Path]) -> list[HookUse]:
    uses: list[HookUse] = []
    for path in files:
        try:
            uses.extend(hooks_in_source(path.read_bytes(), path))
        except OSError:
            continue  # the file checks report unreadable files
    return uses
