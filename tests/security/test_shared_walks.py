"""The kernel's own rules read each module through one shared node list and a faster visitor
(kernel/security/sources.py, dynamic_code.py, hooks_ast.py); they must find exactly what the
straightforward walks (``ast.walk`` per rule, ``ast.NodeVisitor``) find."""

from __future__ import annotations

import ast
import textwrap
from pathlib import Path

from kernel.plugins.discovery import discover_entry_points
from kernel.plugins.scaffold import create_project
from kernel.security import dynamic_code
from kernel.security.hooks_ast import hooks_in_tree
from kernel.security.sources import ParsedSources, walk
from tests.security.scanlib import SAMPLES, folder_plugin
from tests.security.test_bandit_walk import HOSTILE
from tests.security.test_dynamic_code import CASES

HOOKS = """
    import pluggy
    from kernel import hookimpl as hi
    marker = hi
    other = pluggy.HookimplMarker("pteroca")

    @hi
    def user_registered(user): ...

    @marker(tryfirst=True)
    def veto_login(user): ...

    @other(specname="dashboard_widgets")
    def widgets(): ...

    class Plugin:
        @pluggy.HookimplMarker("pteroca")
        def wallet_changed(self, **kw): ...

    register_blueprints = hi(lambda app: None)
"""


class _Straightforward(dynamic_code._Visitor):
    visit = ast.NodeVisitor.visit
    generic_visit = ast.NodeVisitor.generic_visit


def straightforward_hits(tree: ast.Module) -> list:
    visitor = _Straightforward(dynamic_code._Names(list(ast.walk(tree))))
    visitor.visit(tree)
    return visitor.hits


def corpus(tmp_path) -> list[ParsedSources]:
    plugins = [p for p in discover_entry_points() if p.distribution == "pteroca"]
    project = create_project("walks_scaffold", tmp_path)
    plugins.append(folder_plugin(project.path / "src" / "walks_scaffold"))
    plugins += [folder_plugin(d) for d in sorted(SAMPLES.iterdir()) if d.is_dir()]
    parsed = [ParsedSources(p.snapshot()) for p in plugins]
    extra = tmp_path / "extra"
    sources = {**HOSTILE, "hooks.py": textwrap.dedent(HOOKS)}
    for i, (bad, good) in enumerate(CASES.values()):
        for j, source in enumerate(bad + good):
            sources[f"case_{i}_{j}.py"] = source
    for rel, content in sources.items():
        path = extra / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        data = content if isinstance(content, bytes) else textwrap.dedent(content).encode()
        path.write_bytes(data)
    from kernel.plugins.files import Snapshot

    parsed.append(ParsedSources(Snapshot.read(extra)))
    return parsed


def test_the_shared_walk_is_ast_walk_and_the_rules_find_the_same(tmp_path):
    modules = hook_uses = rule_hits = 0
    for parsed in corpus(tmp_path):
        for rel, tree in parsed.trees().items():
            nodes = parsed.nodes(rel)
            assert nodes == list(ast.walk(tree)) == walk(tree), rel
            shared = dynamic_code.check_tree(tree, nodes)
            fresh = ast.parse(parsed.sources[rel])  # _called marks from the first run differ
            assert shared == _dedup(straightforward_hits(fresh)), rel
            uses = hooks_in_tree(tree, Path(rel), nodes)
            assert uses == hooks_in_tree(tree, Path(rel)), rel
            modules, hook_uses, rule_hits = (
                modules + 1,
                hook_uses + len(uses),
                rule_hits + len(shared),
            )
    assert modules > 150 and hook_uses > 30 and rule_hits > 40


def _dedup(hits):
    seen, unique = set(), []
    for hit in hits:
        if (hit.rule, hit.line, hit.message) not in seen:
            seen.add((hit.rule, hit.line, hit.message))
            unique.append(hit)
    return unique
