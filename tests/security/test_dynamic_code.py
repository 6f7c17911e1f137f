"""The kernel's dynamic-code rules: each one finds its hostile spelling, leaves benign code alone,
and rates at least HIGH (confirmation) through the policy."""

from __future__ import annotations

import textwrap

import pytest

from kernel.plugins.scaffold import create_project
from kernel.security import Severity, Verdict, policy, verdict_for
from kernel.security.dynamic_code import check_source
from kernel.security.gate import code_findings
from tests.security.scanlib import folder_plugin

# rule -> (hostile sources, benign sources)
CASES: dict[str, tuple[list[str], list[str]]] = {
    "dynamic-exec": (
        [
            "exec(code)",
            "value = eval(expression)",
            "c = compile(src, 'x', 'exec')",
            "import builtins\nbuiltins.exec(code)",
            "run = eval\nrun('1')",
            "def compile(x):\n    return x\ncompile(src)",
        ],  # shadowing does not hide it
        [
            "import re\nPATTERN = re.compile('a+')",
            "from re import compile\nP = compile('a')",
            "result = db.session.execute(query)",
            "evaluate = 1\nprint(evaluate)",
        ],
    ),
    "builtins-reflection": (
        [
            "import builtins\nf = getattr(builtins, 'ev' + 'al')",
            "f = __builtins__['eval']",
            "import sys\nm = getattr(sys.modules[name], attr)",
            "f = getattr(__import__('builtins'), name)",
            "import importlib\nsetattr(importlib.import_module(mod), 'x', 1)",
            "import builtins\nd = vars(builtins)",
            "import builtins\nd = builtins.__dict__",
            "g = globals()['__builtins__']",
        ],
        [
            "value = getattr(settings, key, None)",
            "setattr(form, name, value)",
            "import sys\nm = getattr(sys.modules['json'], 'dumps')",
        ],
    ),
    "dynamic-import": (
        [
            "import importlib\nmod = importlib.import_module(name)",
            "from importlib import import_module\nimport_module(f'pkg.{x}')",
            "m = __import__(name)",
            "m = __import__('os' + suffix)",
        ],
        [
            "import importlib\njson = importlib.import_module('json')",
            "from importlib import import_module\nm = import_module('.views', package=__name__)",
        ],
    ),
    "import-machinery": (
        [
            "from importlib.machinery import SourceFileLoader\nSourceFileLoader('m', p).load_module()",
            "import importlib.util\nspec = importlib.util.spec_from_file_location('m', path)",
            "import importlib.util\nm = importlib.util.module_from_spec(spec)",
            "import zipimport",
            "import runpy\nrunpy.run_path(p)",
            "import sys\nsys.meta_path.insert(0, Finder())",
            "import sys\nsys.path_hooks.append(h)",
            "from importlib.abc import MetaPathFinder",
        ],
        [
            "import importlib.machinery\nSUFFIXES = importlib.machinery.SOURCE_SUFFIXES",
            "import importlib.metadata\nv = importlib.metadata.version('flask')",
            "import sys\nsys.path.append('x')",
        ],
    ),
    "code-objects": (
        [
            "import types\nf = types.FunctionType(code, {})",
            "from types import CodeType",
            "import marshal",
            "import marshal as m2",
            "def f():\n    pass\nf.__code__ = other",
            "import types\nl = types.LambdaType",
        ],
        [
            "import types\nns = types.SimpleNamespace(a=1)",
            "from types import MappingProxyType",
            "code = f.__code__.co_name",
        ],
    ),
    "native-ffi": (
        [
            "import ctypes",
            "from ctypes import CDLL",
            "import cffi",
            "from cffi import FFI",
            "import _ctypes",
        ],
        ["import ctypesgen_docs_only_name_lookalike as x", "import json"],
    ),
    "file-to-code": (
        [
            "exec(open('x.txt').read())",
            "from pathlib import Path\nsrc = Path(__file__).with_name('p.dat').read_text()\n"
            "exec(src)",
            "with open(path) as fh:\n    code = compile(fh.read(), path, 'exec')",
            "import marshal\nwith open(path, 'rb') as fh:\n    marshal.load(fh)",
            "import pkgutil\ndata = pkgutil.get_data(__name__, 'x.py')\neval(data)",
            "import types\nblob = p.read_bytes()\ntypes.FunctionType(blob, {})",
        ],
        [
            "from pathlib import Path\ntext = Path('notes.txt').read_text()\nprint(text)",
            "with open(path) as fh:\n    rows = fh.readlines()",
        ],
    ),
    "sql-string-building": (
        [
            "from sqlalchemy import text\ndb.session.execute(text(f'SELECT * FROM t WHERE id = {i}'))",
            "cursor.execute('SELECT * FROM t WHERE name = %s' % name)",
            "sql = 'DELETE FROM t WHERE id = ' + str(i)\nconn.execute(sql)",
            "conn.exec_driver_sql('DROP TABLE {}'.format(table))",
            "import sqlalchemy as sa\nq = sa.text('SELECT ' + column)",
            "sql = 'SELECT * FROM t'\nsql += ' WHERE id = ' + value\ncur.execute(sql)",
            "db.session.execute(db.text(f'UPDATE t SET a = {v}'))",
        ],
        [
            "from sqlalchemy import text\ndb.session.execute(text('SELECT 1 WHERE id = :i'), "
            "{'i': i})",
            "db.session.execute(db.select(User).where(User.id == i))",
            "cursor.execute('SELECT * FROM t WHERE name = %s', (name,))",
            "log.info(f'executing {query}')",
            "conn.execute(statement)",
        ],
    ),
}


def rules(source: str) -> set[str]:
    return {hit.rule for hit in check_source(textwrap.dedent(source))}


def test_every_rule_has_cases_and_a_policy_severity_of_at_least_high():
    assert set(CASES) == set(policy.AST_RULES)
    assert all(sev >= Severity.HIGH for sev in policy.AST_RULES.values())
    assert policy.AST_RULES["file-to-code"] is Severity.CRITICAL


@pytest.mark.parametrize("rule, source", [(r, s) for r, (bad, _) in CASES.items() for s in bad])
def test_hostile(rule, source):
    assert rule in rules(source), source


@pytest.mark.parametrize("rule, source", [(r, s) for r, (_, ok) in CASES.items() for s in ok])
def test_benign(rule, source):
    assert rules(source) == set(), source


def test_unicode_spellings_are_the_same_names():
    # Python folds identifiers to NFKC: fullwidth letters spell the builtin itself
    assert "dynamic-exec" in rules("\uff45\uff58\uff45\uff43(code)")


def test_findings_go_through_the_policy_and_need_confirmation(make_plugin):
    plugin = make_plugin(
        "reflective", {"__init__.py": "import ctypes\n", "__pycache__/hidden.py": "exec(data)\n"}
    )
    findings = [f for f in code_findings(plugin, plugin.snapshot()) if f.check == "ast"]
    assert {(f.rule, f.file, f.severity) for f in findings} == {
        ("native-ffi", "__init__.py", Severity.HIGH),
        ("dynamic-exec", "__pycache__/hidden.py", Severity.HIGH),
    }
    assert verdict_for(findings) == Verdict.WARN


def test_builtin_plugins_and_a_fresh_scaffold_have_no_finding_above_low(tmp_path):
    from kernel.plugins.discovery import discover_entry_points

    plugins = [p for p in discover_entry_points() if p.distribution == "pteroca"]
    project = create_project("rules_scaffold", tmp_path)
    plugins.append(folder_plugin(project.path / "src" / "rules_scaffold"))
    assert len(plugins) >= 6
    for plugin in plugins:
        # A declared sensitive capability (plain-text passwords, outgoing mail) is HIGH by
        # design: the admin confirms it at enable time. Nothing else may rate above LOW.
        above = [
            f.brief()
            for f in code_findings(plugin, plugin.snapshot())
            if f.severity > Severity.LOW and f.rule != "sensitive-capability"
        ]
        assert above == [], plugin.name
