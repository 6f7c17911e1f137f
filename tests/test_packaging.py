"""A wheel built from the project (not an editable install) carries everything and works."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

CHECK = """
import kernel, builtin_plugins, pteroca_themes
target = {target!r}
for mod in (kernel, builtin_plugins, pteroca_themes):
    assert mod.__file__.startswith(target), mod.__file__
from kernel.testing import build_app
app = build_app({instance!r})
from kernel.cli import main
result = app.test_cli_runner().invoke(main, ["plugin", "enable", "hello_world", "--accept-risk"])
assert result.exit_code == 0, result.output
from kernel.app import create_app
app = create_app(dict(app.config))
client = app.test_client()
assert client.get("/-/theme/panel.css").status_code == 200
assert client.get("/plugins/hello_world/").status_code == 302  # login required: route exists
print("wheel ok", sorted(app.extensions["pteroca"].loaded))
"""


# A line setuptools, pip or a build backend prints as a warning ("SetuptoolsDeprecationWarning:",
# "BuildBackendWarning:", "warning: ..."), not a file name that contains the word.
WARNING_LINE = re.compile(r"(^|\s)(\w*Warning|warning|WARNING):")


@pytest.fixture(scope="module")
def build(tmp_path_factory) -> tuple[Path, str]:
    """The wheel and everything the build printed (verbose, as ``pip install -v`` shows it).

    PYTHONDONTWRITEBYTECODE is dropped: a normal shell does not set it, and with it set
    setuptools says "byte-compiling is disabled" as a warning line."""
    out = tmp_path_factory.mktemp("wheel")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "-v", "-w", str(out)],
        check=True,
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    return next(out.glob("pteroca-*.whl")), result.stdout + result.stderr


@pytest.fixture(scope="module")
def wheel(build) -> Path:
    return build[0]


def test_build_prints_no_warning(build):
    """A first ``pip install -e .`` used to print ~1,400 lines of setuptools warnings (the
    licence as a TOML table, data folders "absent from the packages configuration")."""
    _wheel, output = build
    warnings = [line.strip() for line in output.splitlines() if WARNING_LINE.search(line)]
    assert warnings == [], "\n".join(warnings[:20])
    assert "Successfully built pteroca" in output or "Saved" in output


def test_licence_is_an_spdx_expression(wheel):
    metadata = zipfile.ZipFile(wheel).read("pteroca-0.1.0.dist-info/METADATA").decode()
    assert "License-Expression: MIT" in metadata
    assert "pteroca-0.1.0.dist-info/licenses/LICENSE" in zipfile.ZipFile(wheel).namelist()


def test_no_bytecode_caches_are_shipped(wheel):
    assert not [name for name in zipfile.ZipFile(wheel).namelist() if "__pycache__" in name]


def test_wheel_contents(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for required in (
        "kernel/migrations/versions/0001_kernel_core.py",
        "builtin_plugins/hello_world/plugin.toml",
        "builtin_plugins/hello_world/templates/hello_world/index.html",
        "builtin_plugins/hello_world/migrations/versions/0001_greeting.py",
        "pteroca_themes/default/theme.toml",
        "pteroca_themes/default/panel/layout.html",
    ):
        assert required in names, required
    entry_points = zipfile.ZipFile(wheel).read("pteroca-0.1.0.dist-info/entry_points.txt").decode()
    assert (
        "[pteroca.plugins]" in entry_points
        and "hello_world = builtin_plugins.hello_world" in entry_points
    )
    assert "pteroca = kernel.cli:main" in entry_points


def test_installed_wheel_runs(wheel, tmp_path):
    target = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-deps",
            "-q",
            "--target",
            str(target),
            str(wheel),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    env = dict(os.environ, PYTHONPATH=str(target))
    code = CHECK.format(target=str(target), instance=str(tmp_path / "instance"))
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "wheel ok ['hello_world']" in result.stdout
