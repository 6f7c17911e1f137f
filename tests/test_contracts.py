"""The plugin API's boundaries hold: import-linter contracts, and every public name documented.

The contracts live in ``.importlinter`` at the repository root; ``lint-imports`` checks them
here on the real packages, and again on a copy with one deliberately bad import each, which
must break the contract it names.
"""

from __future__ import annotations

import configparser
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

import kernel

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / ".importlinter"
# lint-imports, run by this interpreter whatever PATH says
LINT = ("import sys; from importlinter.cli import lint_imports; "
        "sys.exit(lint_imports(config_filename='.importlinter', no_cache=True))")
PACKAGES = ("kernel", "builtin_plugins", "simulators")


def lint(cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", LINT], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=120)


def test_the_import_contracts_are_kept():
    result = lint(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Contracts: 4 kept, 0 broken." in result.stdout


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory) -> Path:
    """A copy of the Python sources of the three packages, for breaking contracts on purpose."""
    root = tmp_path_factory.mktemp("contracts")
    for package in PACKAGES:
        shutil.copytree(ROOT / package, root / package,
                        ignore=lambda folder, names: [n for n in names if n == "__pycache__" or (
                            not n.endswith(".py") and not (Path(folder) / n).is_dir())])
    shutil.copy(CONFIG, root / ".importlinter")
    return root


BAD_IMPORTS = [
    # (file, code, the contract it breaks)
    ("builtin_plugins/hello_world/bad.py", "from kernel.jobs import enqueue\n",
     "Plugins import only the kernel package itself"),
    ("builtin_plugins/store/bad.py", "from kernel import jobs\n",  # a module, not an API name
     "Plugins import only the kernel package itself"),
    ("builtin_plugins/stripe_payments/bad.py",
     "def later():\n    from kernel.extensions import db\n    return db\n",  # lazy imports count
     "Plugins import only the kernel package itself"),
    ("builtin_plugins/pterodactyl/bad.py", "import simulators.pterodactyl\n",
     "Plugins import only the kernel package itself"),
    ("kernel/bad.py", "from builtin_plugins.store import services\n",
     "The kernel imports no plugin"),
    ("kernel/web/bad.py", "import simulators.stripe\n", "The kernel imports no plugin"),
    ("builtin_plugins/store/bad.py", "from builtin_plugins.pterodactyl import links\n",
     "Plugins import each other only through"),
    ("builtin_plugins/pterodactyl/bad.py", "from builtin_plugins.store.models import Service\n",
     "Plugins import each other only through"),
    ("builtin_plugins/paypal_payments/bad.py", "from builtin_plugins.store.api import Service\n",
     "Plugins import each other only through"),  # paypal does not require the store
    ("simulators/bad.py", "from builtin_plugins.pterodactyl import client\n",
     "The simulators drive plugins only through the public API"),
]


@pytest.mark.parametrize(("path", "code", "contract"), BAD_IMPORTS,
                         ids=[f"{p}:{c.split()[1]}" for p, c, _ in BAD_IMPORTS])
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
    assert "Contracts: 3 kept, 1 broken." in result.stdout


def test_the_sandbox_is_clean_without_the_bad_import(sandbox):
    """The copy itself keeps every contract, so the breaks above come from the bad lines."""
    result = lint(sandbox, {**os.environ, "PYTHONPATH": str(sandbox)})
    assert result.returncode == 0, result.stdout + result.stderr


def test_no_source_names_a_private_kernel_module():
    """What import-linter cannot read (the scaffold's templates) is checked as text."""
    pattern = re.compile(r"^\s*(from kernel\.|import kernel\.)", re.M)
    offenders = [str(p.relative_to(ROOT))
                 for folder in (ROOT / "builtin_plugins", ROOT / "kernel/plugins/scaffold_template")
                 for p in folder.rglob("*") if p.suffix in (".py", ".tmpl")
                 and pattern.search(p.read_text())]
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
    plugins = sorted(p.name for p in (ROOT / "builtin_plugins").iterdir()
                     if (p / "plugin.toml").exists())
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


def test_no_exported_name_shadows_a_kernel_module():
    import pkgutil

    modules = {m.name for m in pkgutil.iter_modules(kernel.__path__)}
    assert modules.isdisjoint(kernel.__all__)


def test_importing_the_api_stays_cheap():
    """``import kernel`` loads no database or web machinery: the CLI starts fast."""
    code = ("import sys, kernel; heavy = {'flask_sqlalchemy', 'sqlalchemy', 'flask_admin'}; "
            "print(sorted(heavy & set(sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_a_retired_name_keeps_working_with_a_warning(monkeypatch):
    from kernel import HookDeprecationWarning, deprecated

    monkeypatch.setitem(kernel._DEPRECATED, "old_settings_for", ("settings_for", deprecated(
        "kernel.old_settings_for", since="0.2", removal="1.0", instead="use settings_for")))
    with pytest.warns(HookDeprecationWarning, match="old_settings_for is deprecated since"):
        found = kernel.old_settings_for
    assert found is kernel.settings_for
    with pytest.raises(AttributeError, match="no attribute 'never_was'"):
        kernel.never_was  # noqa: B018
