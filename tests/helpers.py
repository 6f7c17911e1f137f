"""Builders for test data: plugins on disk, users."""

from __future__ import annotations

import textwrap
from pathlib import Path


def write_plugin(plugins_dir: Path, name: str, code: str = "", *, capabilities=(), version="1.0.0",
                 kernel=">=0.1", requires: dict | None = None, extra_manifest: str = "",
                 files: dict[str, str] | None = None) -> Path:
    """Create a drop-in plugin folder ``plugins_dir/name`` and return it."""
    folder = Path(plugins_dir) / name
    folder.mkdir(parents=True, exist_ok=True)
    lines = [f'name = "{name}"', f'version = "{version}"', f'kernel = "{kernel}"',
             f'description = "test plugin {name}"',
             "capabilities = [" + ", ".join(f'"{c}"' for c in capabilities) + "]"]
    manifest = "\n".join(lines) + "\n" + textwrap.dedent(extra_manifest)
    if requires:
        manifest += "\n[requires]\n" + "".join(f'{k} = "{v}"\n' for k, v in requires.items())
    (folder / "plugin.toml").write_text(manifest)
    (folder / "__init__.py").write_text(textwrap.dedent(code))
    for rel, content in (files or {}).items():
        path = folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(content))
    return folder


PAGE_PLUGIN = '''
from flask import Blueprint
from kernel import hookimpl

bp = Blueprint("{name}", __name__)

@bp.get("/")
def index():
    return "hello from {name}"

@hookimpl
def register_blueprints(app):
    return [bp]
'''


def page_plugin(plugins_dir: Path, name: str, **kwargs) -> Path:
    """A drop-in plugin serving ``/plugins/<name>/`` with a fixed text."""
    kwargs.setdefault("capabilities", ["routes"])
    return write_plugin(plugins_dir, name, PAGE_PLUGIN.format(name=name), **kwargs)
