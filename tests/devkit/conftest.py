"""The plugin developer kit's tests.

Here ``app`` and ``client`` are the fixtures of pteroca's own pytest plugin
(kernel/pytest_plugin.py), the ones plugin authors get, instead of the suite's: importing
them into this conftest makes them override tests/conftest.py for this folder.
"""

from __future__ import annotations

import io
import stat
import zipfile

import pytest

from kernel.pytest_plugin import app, client  # noqa: F401 - fixtures, re-exported on purpose


def zip_bytes(
    members: dict[str, bytes | str],
    *,
    symlinks: dict[str, str] | None = None,
    compression: int = zipfile.ZIP_DEFLATED,
) -> bytes:
    """A zip archive in memory: ``members`` maps paths to contents, ``symlinks`` to targets."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, content in members.items():
            info = zipfile.ZipInfo(name)
            info.compress_type = compression
            info.external_attr = (stat.S_IFREG | 0o644) << 16
            archive.writestr(info, content)
        for name, target in (symlinks or {}).items():
            info = zipfile.ZipInfo(name)
            info.create_system = 3  # unix, so the mode bits mean what they say
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            archive.writestr(info, target)
    return buffer.getvalue()


def plugin_files(
    name: str,
    *,
    code: str = "",
    kernel: str = ">=0.1",
    extra_manifest: str = "",
    capabilities: tuple[str, ...] = (),
) -> dict[str, str]:
    """The files of a minimal drop-in plugin, relative to its folder."""
    caps = ", ".join(f'"{c}"' for c in capabilities)
    return {
        "plugin.toml": f'name = "{name}"\nversion = "1.2.3"\nkernel = "{kernel}"\n'
        f"capabilities = [{caps}]\n{extra_manifest}",
        "__init__.py": code,
    }


PAGE_CODE = """
from flask import Blueprint

from kernel import hookimpl

bp = Blueprint("{name}", __name__)


@bp.get("/")
def index():
    return "uploaded page of {name}"


@hookimpl
def register_blueprints(app):
    return [bp]
"""


@pytest.fixture
def make_zip():
    return zip_bytes
