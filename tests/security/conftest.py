"""Fixtures for the scan gate: sample plugins, fake installed distributions, the fake OSV."""

from __future__ import annotations

import json
import shutil
import textwrap
from pathlib import Path

import pytest

from kernel.plugins.discovery import DiscoveredPlugin
from kernel.testing import build_app
from tests.fakes.osv_server import osv_server  # noqa: F401 - fixture
from tests.scan_memo import real_scans  # noqa: F401 - fixture
from tests.security.scanlib import SAMPLES, folder_plugin


@pytest.fixture(autouse=True)
def _scanner_runs_every_time(real_scans):  # noqa: F811 - the fixture imported above
    """The scanner's own tests never reuse a remembered scan (tests/scan_memo.py)."""


@pytest.fixture
def app(instance, plugins_dir, osv_server):  # noqa: F811 - the fixture
    """The usual test app, its advisory service the local fake OSV (never the network)."""
    return build_app(instance, OSV_URL=osv_server.url)


@pytest.fixture
def sample(tmp_path):
    """``sample("shell")`` copies tests/samples/scan/shell into a plugins folder and discovers it.

    ``sample(name, into=dir)`` copies into ``dir`` (e.g. the app's plugins folder).
    """

    def load(name: str, into: Path | None = None) -> DiscoveredPlugin:
        target = Path(into or tmp_path / "sample_plugins") / name
        shutil.copytree(SAMPLES / name, target, symlinks=True)
        return folder_plugin(target)

    return load


@pytest.fixture
def make_plugin(tmp_path):
    """``make_plugin("x", {"__init__.py": "..."}, capabilities=[...], deps=[...])`` in tmp."""

    def make(
        name: str,
        files: dict[str, str | bytes] | None = None,
        *,
        capabilities=(),
        deps=(),
        into: Path | None = None,
    ) -> DiscoveredPlugin:
        folder = Path(into or tmp_path / "made_plugins") / name
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "plugin.toml").write_text(
            f'name = "{name}"\nversion = "1.0.0"\nkernel = ">=0.1"\n'
            f"capabilities = {json.dumps(list(capabilities))}\n"
            f"python_dependencies = {json.dumps(list(deps))}\n"
        )
        files = {"__init__.py": "", **(files or {})}
        for rel, content in files.items():
            path = folder / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                path.write_bytes(content)
            else:
                path.write_text(textwrap.dedent(content))
        plugin = folder_plugin(folder)
        assert plugin.ok, plugin.errors
        return plugin

    return make


@pytest.fixture
def site_dir(tmp_path, monkeypatch):
    """A throw-away site-packages on sys.path where :func:`install_dist` puts distributions."""
    site = tmp_path / "site"
    site.mkdir()
    monkeypatch.syspath_prepend(str(site))
    return site
