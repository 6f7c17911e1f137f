"""``pteroca plugin new NAME``: a complete, pip-installable plugin project to start from.

The project is rendered from ``scaffold_template/`` (files ending in ``.tmpl``, so neither
pytest nor the scanners mistake them for code of ours) with :class:`string.Template`
placeholders: ``${name}``, ``${dist}``, ``${display_name}``, ``${kernel_range}``,
``${upper_name}``. A path part ``__plugin__`` becomes the plugin name; ``gitignore``
becomes ``.gitignore``. The project is written to a temporary sibling folder and renamed
into place, so a failure never leaves half a project behind.
"""

from __future__ import annotations

import importlib.util
import keyword
import os
import re
import shutil
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from string import Template

from packaging.version import Version

from kernel import __version__
from kernel.plugins.manifest import NAME_RE

TEMPLATE_DIR = Path(__file__).resolve().parent / "scaffold_template"
SUFFIX = ".tmpl"
PLACEHOLDER = "__plugin__"
RENAMES = {"gitignore": ".gitignore", "importlinter": ".importlinter"}
# Names the kernel or its packaging already use.
RESERVED = frozenset(
    {
        "kernel",
        "builtin_plugins",
        "simulators",
        "pteroca",
        "pteroca_themes",
        "pteroca_plugins",
        "plugins",
        "themes",
        "tests",
        "test",
    }
)


class ScaffoldError(ValueError):
    """The project cannot be created; the message says why and what to do instead."""


@dataclass
class Scaffold:
    name: str
    path: Path
    files: list[str] = field(default_factory=list)  # relative, sorted

    @property
    def distribution(self) -> str:
        return distribution_name(self.name)


def distribution_name(name: str) -> str:
    return "pteroca-" + name.replace("_", "-")


def kernel_range(version: str = __version__) -> str:
    """The range a new plugin declares: this kernel's minor version up to the next major."""
    v = Version(version)
    return f">={v.major}.{v.minor},<{v.major + 1}.0"


def _suggestion(name: str) -> str:
    fixed = re.sub(r"[^a-z0-9_]+", "_", name.strip().lower()).strip("_")
    fixed = re.sub(r"^[^a-z]+", "", fixed)[:48]
    return f" (try {fixed!r})" if fixed and fixed != name and NAME_RE.match(fixed) else ""


def check_name(name: str, installed: dict | None = None) -> None:
    """Refuse a name that is not a valid plugin/package name or that is already taken.

    ``installed`` maps plugin names to discovered plugins (entry points and folders).
    """
    if not NAME_RE.match(name or ""):
        raise ScaffoldError(
            f"{name!r} is not a valid plugin name: use 2-48 characters of a-z, 0-9 and _, "
            f"starting with a letter{_suggestion(name or '')}"
        )
    if keyword.iskeyword(name) or keyword.issoftkeyword(name):
        raise ScaffoldError(f"{name!r} is a Python keyword; a plugin package needs another name")
    if name in sys.stdlib_module_names or name in RESERVED:
        raise ScaffoldError(
            f"{name!r} is already the name of a standard library or pteroca "
            "module; choose another name"
        )
    if installed and name in installed:
        plugin = installed[name]
        where = (
            f"installed by the distribution {plugin.distribution}"
            if plugin.distribution
            else f"at {plugin.path}"
        )
        raise ScaffoldError(
            f"a plugin named {name!r} is already installed ({where}); choose another name"
        )
    try:
        spec = importlib.util.find_spec(name)  # a top-level lookup imports nothing
    except (ImportError, ValueError):
        spec = None
    if spec is not None:
        origin = spec.origin or ", ".join(spec.submodule_search_locations or []) or "?"
        raise ScaffoldError(
            f"a module named {name!r} is already importable ({origin}); "
            "choose another name so the plugin package does not shadow it"
        )


def render(text: str, values: dict[str, str], where: str) -> str:
    try:
        return Template(text).substitute(values)
    except (KeyError, ValueError) as exc:  # a broken template is our bug: say where
        raise ScaffoldError(f"scaffold template {where} is broken: {exc!r}") from None


def _target_rel(rel: Path, name: str) -> Path:
    parts = [name if part == PLACEHOLDER else part for part in rel.parts]
    last = parts[-1][: -len(SUFFIX)] if parts[-1].endswith(SUFFIX) else parts[-1]
    parts[-1] = RENAMES.get(last, last.replace(PLACEHOLDER, name))
    return Path(*parts)


def template_files() -> list[Path]:
    return sorted(
        p for p in TEMPLATE_DIR.rglob("*") if p.is_file() and "__pycache__" not in p.parts
    )


def create_project(name: str, parent: str | Path, *, installed: dict | None = None) -> Scaffold:
    """Render the project for plugin ``name`` into ``parent/pteroca-<name>``; return it."""
    check_name(name, installed)
    parent = Path(parent).expanduser().resolve()
    if parent.exists() and not parent.is_dir():
        raise ScaffoldError(f"{parent} is a file, not a folder")
    destination = parent / distribution_name(name)
    if destination.exists():
        raise ScaffoldError(f"{destination} already exists; remove it or choose another --dir")
    values = {
        "name": name,
        "upper_name": name.upper(),
        "dist": distribution_name(name),
        "display_name": name.replace("_", " ").title(),
        "kernel_range": kernel_range(),
    }
    try:
        parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{destination.name}-", dir=parent))
    except OSError as exc:
        raise ScaffoldError(f"cannot write to {parent}: {exc.strerror or exc}") from None
    written: list[str] = []
    try:
        for source in template_files():
            rel = _target_rel(source.relative_to(TEMPLATE_DIR), name)
            target = staging / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(
                render(source.read_text(encoding="utf-8"), values, str(rel)), encoding="utf-8"
            )
            written.append(rel.as_posix())
        os.chmod(staging, 0o755)  # mkdtemp made it 0700
        try:
            staging.rename(destination)
        except OSError as exc:
            raise ScaffoldError(f"cannot create {destination}: {exc.strerror or exc}") from None
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return Scaffold(name=name, path=destination, files=sorted(written))
