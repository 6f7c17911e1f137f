"""The plugin API's boundaries hold: import-linter contracts, and every public name documented.

The contracts live in ``.importlinter`` at the repository root; ``lint-imports`` checks them
here on the real packages, and again on a copy with one deliberately bad import each, which
must break the contract it names.
"""

from __future__ import annotations

import configparser
import inspect
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

import kernel
from tests import import_graph

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / ".importlinter"
# lint-imports, run by this interpreter whatever PATH says
LINT = (
    "import sys; from importlinter.cli import lint_imports; "
    "sys.exit(lint_imports(config_filename='.importlinter', no_cache=True))"
)
PACKAGES = ("kernel", "builtin_plugins", "simulators")


def lint(cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", LINT], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


def test_the_import_contracts_are_kept():
    result = lint(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Contracts: 5 kept, 0 broken." in result.stdout


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory) -> Path:
    """A copy of the Python sources of the three packages, for breaking contracts on purpose."""
    root = tmp_path_factory.mktemp("contracts")
    for package in PACKAGES:
        shutil.copytree(
            ROOT / package,
            root / package,
            ignore=lambda folder, names: [
                n
                for n in names
                if n == "__pycache__" or (not n.endswith(".py") and not (Path(folder) / n).is_dir())
            ],
        )
    shutil.copy(CONFIG, root / ".importlinter")
    return root


BAD_IMPORTS = [
    # (file, code, the contract it breaks)
    (
        "builtin_plugins/hello_world/bad.py",
        "from kernel.jobs import enqueue\n",
        "Plugins import only the kernel package itself",
    ),
    (
        "builtin_plugins/store/bad.py",
        "from kernel import jobs\n",  # a module, not an API name
        "Plugins import only the kernel package itself",
    ),
    (
        "builtin_plugins/stripe_payments/bad.py",
        "def later():\n    from kernel.extensions import db\n    return db\n",  # lazy imports count
        "Plugins import only the kernel package itself",
    ),
    (
        "builtin_plugins/pterodactyl/bad.py",
        "import simulators.pterodactyl\n",
        "Plugins import only the kernel package itself",
    ),
    (
        "kernel/bad.py",
        "from builtin_plugins.store import services\n",
        "The kernel imports no plugin",
    ),
    ("kernel/web/bad.py", "import simulators.stripe\n", "The kernel imports no plugin"),
    (
        "builtin_plugins/store/bad.py",
        "from builtin_plugins.pterodactyl import links\n",
        "Plugins import each other only through",
    ),
    (
        "builtin_plugins/pterodactyl/bad.py",
        "from builtin_plugins.store.models import Service\n",
        "Plugins import each other only through",
    ),
    (
        "builtin_plugins/store/bad.py",
        "def later():\n    from builtin_plugins.pelican import provisioner\n",
        "Plugins import each other only through",
    ),  # the store is panel-neutral: it reaches Pelican only through the provisioner hook
    (
        "builtin_plugins/pelican/bad.py",
        "from builtin_plugins.pterodactyl import client\n",
        "Plugins import each other only through",
    ),  # the panels share code through the panel kit, never directly
    (
        "builtin_plugins/pelican/bad.py",
        "from builtin_plugins.panel_kit.transport import Transport\n",
        "Plugins import each other only through",
    ),  # only the kit's api module
    (
        "builtin_plugins/pelican/bad.py",
        "import simulators.pelican\n",
        "Plugins import only the kernel package itself",
    ),
    (
        "builtin_plugins/paypal_payments/bad.py",
        "from builtin_plugins.store.api import Service\n",
        "Plugins import each other only through",
    ),  # paypal does not require the store
    (
        "simulators/bad.py",
        "from builtin_plugins.pterodactyl import client\n",
        "The simulators drive plugins only through the public API",
    ),
    (
        "kernel/accounts/bad.py",
        "def later():\n    from kernel.admin import base\n    return base\n",
        "The kernel's parts import only the layers below them",
    ),  # a lazy import upwards
    (
        "kernel/web/bad.py",
        "from kernel import app\n",
        "The kernel's parts import only the layers below them",
    ),
    (
        "kernel/plugins/bad.py",
        "import kernel.cli\n",
        "The kernel's parts import only the layers below them",
    ),
    (
        "kernel/plugins/bad.py",
        "def later():\n    from kernel.security import check_gate\n    return check_gate\n",
        "The kernel's parts import only the layers below them",
    ),  # plugins sits below the scan gate, which reads it
    (
        "kernel/plugins/bad.py",
        "from kernel.hooks import call_hook\n",
        "The kernel's parts import only the layers below them",
    ),  # and below the hook caller
    (
        "kernel/security/bad.py",
        "from kernel.hooks import call_hook\n",
        "The kernel's parts import only the layers below them",
    ),  # the gate and the hook caller know nothing of each other
    (
        "kernel/security/bad.py",
        "def later():\n    from kernel.plugin_lifecycle import services\n    return services\n",
        "The kernel's parts import only the layers below them",
    ),  # the lifecycle runs the gate, never the other way
]


@pytest.mark.parametrize(
    ("path", "code", "contract"),
    BAD_IMPORTS,
    ids=[f"{p}:{c.split()[1]}" for p, c, _ in BAD_IMPORTS],
)
def test_a_deliberately_bad_import_breaks_its_contract(sandbox, path, code, contract):
    bad = sandbox / path
    bad.write_text(code)
    try:
        env = {**os.environ, "PYTHONPATH": str(sandbox)}
        result = lint(sandbox, env)
    finally:
        bad.unlink()
    assert result.returncode == 1, result.stdout + result.stderr
    text = re.sub(r"\s+", " ", result.stdout)
    assert re.search(re.escape(contract) + r"(?:(?!KEPT).)*? BROKEN", text), result.stdout
    assert "Contracts: 4 kept, 1 broken." in result.stdout


def test_the_sandbox_is_clean_without_the_bad_import(sandbox):
    """The copy itself keeps every contract, so the breaks above come from the bad lines."""
    result = lint(sandbox, {**os.environ, "PYTHONPATH": str(sandbox)})
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_store_imports_no_panel_plugin():
    """The store is panel-neutral (issue 23): no module of it names a panel plugin or the
    panel kit, at module level or in a function; products reach a panel only through the
    ``register_provisioners`` hook."""
    import ast

    panels = ("builtin_plugins.pterodactyl", "builtin_plugins.pelican", "builtin_plugins.panel_kit")
    found = []
    for path in sorted((ROOT / "builtin_plugins" / "store").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            found += [f"{path.name}: {n}" for n in names if n.startswith(panels)]
    assert found == []


# --- no import cycle between the kernel's parts ----------------------------------------------


def _cycle_imports(root: Path) -> set[str]:
    """Every import between two kernel parts of one cycle (``"kernel.a -> kernel.b"``)."""
    return import_graph.cycle_edges(import_graph.part_graph(root))


def test_no_import_cycle_between_kernel_parts():
    """Issue 17's last cycle (hooks, plugins, security) is gone: none may come back, lazy or not."""
    assert import_graph.cycles(import_graph.part_graph(ROOT)) == []


def test_an_import_upwards_that_makes_no_cycle_is_the_layer_contract_s_business(sandbox):
    """A new module nothing imports may import anything without a cycle: the cycle check
    stays quiet, the layers contract (above) is what refuses an import upwards."""
    bad = sandbox / "kernel" / "clock_extra.py"
    bad.write_text("def later():\n    from kernel import app\n")
    try:
        assert _cycle_imports(sandbox) == set()
    finally:
        bad.unlink()


CYCLE_MAKERS = [
    # (file, code, an import that must be reported)
    (
        "kernel/web/bad.py",
        "def later():\n    from kernel import wsgi\n    return wsgi\n",
        "kernel.web -> kernel.wsgi",
    ),  # lazy: wsgi -> app -> web
    ("kernel/plugins/bad.py", "from kernel.admin import users\n", "kernel.plugins -> kernel.admin"),
    (
        "kernel/accounts/bad.py",
        "if False:\n    import kernel.worker\n",
        "kernel.accounts -> kernel.worker",
    ),  # any import statement counts
    # the cycle issue 17 broke, put back one import at a time:
    (
        "kernel/plugins/bad.py",
        "def later():\n    from kernel.security import check_gate\n    return check_gate\n",
        "kernel.plugins -> kernel.security",
    ),  # the gate reads plugins.discovery and plugins.files
    (
        "kernel/plugins/bad.py",
        "from kernel.hooks import call_hook\n",
        "kernel.plugins -> kernel.hooks",
    ),  # the hook caller counts failures in plugins.health
    (
        "kernel/security/bad.py",
        "def later():\n    from kernel.plugin_lifecycle.services import block\n",
        "kernel.security -> kernel.plugin_lifecycle",
    ),  # a rescan that blocks from inside the gate: the lifecycle runs the gate
    (
        "kernel/plugins/bad.py",
        "from kernel.plugin_lifecycle import loader\n",
        "kernel.plugins -> kernel.plugin_lifecycle",
    ),
]


@pytest.mark.parametrize(
    ("path", "code", "reported"),
    CYCLE_MAKERS,
    ids=[f"{m[0]}->{m[2].split()[-1]}" for m in CYCLE_MAKERS],
)
def test_a_deliberate_cycle_fails_the_cycle_check(sandbox, path, code, reported):
    (sandbox / path).write_text(code)
    try:
        found = _cycle_imports(sandbox)
    finally:
        (sandbox / path).unlink()
    assert reported in found


def test_every_kernel_part_is_in_one_strict_layer():
    """The layers contract names each part of the kernel once, and no row lets its parts
    import each other (``:``, one way), so a part cannot escape the layers or hide a cycle."""
    rows = _contract("kernel-layers")["layers"].split("\n")
    assert not [row for row in rows if ":" in row]
    named = [part.strip() for row in rows for part in row.split("|") if part.strip()]
    assert len(named) == len(set(named)), "a part is named twice"
    kernel_dir = ROOT / "kernel"
    parts = {p.stem for p in kernel_dir.glob("*.py") if p.name != "__init__.py"}
    parts |= {p.name for p in kernel_dir.iterdir() if (p / "__init__.py").is_file()}
    assert set(named) == parts


def test_the_cycle_finder_sees_a_cycle_through_a_lazy_and_a_relative_import(tmp_path):
    """On a made-up kernel: ``a`` imports ``b`` in a function, ``b.x`` imports ``a`` with
    ``from .. import a``; ``c`` only imports ``a`` (no cycle)."""
    pkg = tmp_path / "kernel"
    (pkg / "b").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("def f():\n    import kernel.b.x\n")
    (pkg / "b" / "__init__.py").write_text("")
    (pkg / "b" / "x.py").write_text("from .. import a\n")
    (pkg / "c.py").write_text("from kernel import a\n")
    graph = import_graph.part_graph(tmp_path)
    assert graph == {"kernel.a": {"kernel.b"}, "kernel.b": {"kernel.a"}, "kernel.c": {"kernel.a"}}
    assert import_graph.cycles(graph) == [["kernel.a", "kernel.b"]]
    assert import_graph.cycle_edges(graph) == {"kernel.a -> kernel.b", "kernel.b -> kernel.a"}
    (pkg / "b" / "x.py").write_text("import os\n")  # the way back gone: no cycle
    assert import_graph.cycles(import_graph.part_graph(tmp_path)) == []


def test_no_source_names_a_private_kernel_module():
    """What import-linter cannot read (the scaffold's templates) is checked as text."""
    pattern = re.compile(r"^\s*(from kernel\.|import kernel\.)", re.M)
    offenders = [
        str(p.relative_to(ROOT))
        for folder in (ROOT / "builtin_plugins", ROOT / "kernel/plugins/scaffold_template")
        for p in folder.rglob("*")
        if p.suffix in (".py", ".tmpl") and pattern.search(p.read_text())
    ]
    assert offenders == []


def _contract(kind: str) -> configparser.SectionProxy:
    parser = configparser.ConfigParser()
    parser.read(CONFIG)
    return parser[f"importlinter:contract:{kind}"]


def test_cross_plugin_imports_are_declared_requires():
    """Each exception of the independence contract is a plugin importing the public module
    (``api``) of a plugin its manifest requires; every builtin plugin is in the contract."""
    section = _contract("plugins-through-declared-requires")
    modules = section["modules"].split()
    plugins = sorted(
        p.name for p in (ROOT / "builtin_plugins").iterdir() if (p / "plugin.toml").exists()
    )
    assert sorted(m.removeprefix("builtin_plugins.") for m in modules) == plugins
    for line in section["ignore_imports"].strip().splitlines():
        importer, imported = (part.strip() for part in line.split("->"))
        user = re.fullmatch(r"builtin_plugins\.(\w+)\.\*\*", importer).group(1)
        used = re.fullmatch(r"builtin_plugins\.(\w+)\.api", imported).group(1)
        manifest = tomllib.loads((ROOT / "builtin_plugins" / user / "plugin.toml").read_text())
        assert used in manifest.get("requires", {}), f"{user} imports {used} without requiring it"


# --- the public API -------------------------------------------------------------------------


def _documented_names() -> list[str]:
    docs = (ROOT / "docs" / "plugins.md").read_text()
    section = docs.split("## The public API", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"^\| `([A-Za-z_][\w]*)` \|", section, re.M)


def test_every_exported_name_is_documented():
    documented = _documented_names()
    assert len(documented) == len(set(documented)), "a name is listed twice"
    assert set(documented) == set(kernel.__all__)


def test_every_exported_name_resolves_with_a_one_line_description():
    reference = kernel.api_reference()
    assert set(reference) == set(kernel.__all__)
    for name in kernel.__all__:
        getattr(kernel, name)
        assert reference[name] and "\n" not in reference[name], name


def _unannotated(qualname: str, fn) -> list[str]:
    """What ``fn`` leaves unannotated: its parameters (not self/cls) and its return."""
    params = inspect.signature(fn).parameters.values()
    missing = [
        f"{qualname}({p.name})"
        for p in params
        if p.name not in ("self", "cls") and p.annotation is inspect.Parameter.empty
    ]
    if inspect.signature(fn).return_annotation is inspect.Signature.empty:
        missing.append(f"{qualname} -> ?")
    return missing


def _public_callables():
    """Every exported function, and every public method (and ``__init__``) that an exported
    class defines in the kernel itself (SQLAlchemy's or typing's generated ones are not ours)."""
    for name in kernel.__all__:
        value = getattr(kernel, name)
        if inspect.isclass(value):
            for attr, member in vars(value).items():
                if attr.startswith("_") and attr != "__init__":
                    continue
                if isinstance(member, staticmethod | classmethod):
                    member = member.__func__
                if inspect.isfunction(member) and member.__module__.startswith("kernel"):
                    yield f"{name}.{attr}", member
        elif inspect.isfunction(value):
            yield name, value


def test_every_exported_callable_has_type_hints():
    """The public API is typed: parameters and return of every exported function and method."""
    found = dict(_public_callables())
    assert {"create_app", "send_email", "enqueue", "PermissionMixin.is_accessible"} <= set(found)
    missing = [m for qualname, fn in found.items() for m in _unannotated(qualname, fn)]
    assert missing == []


def test_the_type_hint_check_sees_a_missing_hint():
    def half(a: int, b, *args: int, **kwargs) -> int:
        return a

    def no_return(a: int):
        return a

    assert _unannotated("half", half) == ["half(b)", "half(kwargs)"]
    assert _unannotated("no_return", no_return) == ["no_return -> ?"]


def test_no_exported_name_shadows_a_kernel_module():
    import pkgutil

    modules = {m.name for m in pkgutil.iter_modules(kernel.__path__)}
    assert modules.isdisjoint(kernel.__all__)


def test_importing_the_api_stays_cheap():
    """``import kernel`` loads no database or web machinery: the CLI starts fast."""
    code = (
        "import sys, kernel; heavy = {'flask_sqlalchemy', 'sqlalchemy', 'flask_admin'}; "
        "print(sorted(heavy & set(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_a_retired_name_keeps_working_with_a_warning(monkeypatch):
    from kernel import HookDeprecationWarning, deprecated

    monkeypatch.setitem(
        kernel._DEPRECATED,
        "old_settings_for",
        (
            "settings_for",
            deprecated(
                "kernel.old_settings_for", since="0.2", removal="1.0", instead="use settings_for"
            ),
        ),
    )
    with pytest.warns(HookDeprecationWarning, match="old_settings_for is deprecated since"):
        found = kernel.old_settings_for
    assert found is kernel.settings_for
    with pytest.raises(AttributeError, match="no attribute 'never_was'"):
        kernel.never_was  # noqa: B018
