"""From ``pteroca plugin new`` to a pip-installed, scanned, enabled, served and removed plugin.

The project is installed with pip into a throw-away virtual environment layered over ours
(so pteroca, pytest and their dependencies come from here): a real wheel, a real
``pteroca.plugins`` entry point, a real ``pip uninstall``. The generated project's own
tests then run in that environment with nothing but pteroca's pytest plugin.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from kernel.plugin_lifecycle import loader
from kernel.plugins import verified
from kernel.testing import build_app, login, rebuild, run_cli
from tests.fakes.osv_server import osv_server  # noqa: F401 - fixture
from tests.helpers import PASSWORD

NAME = "devkit_e2e_notes"
DIST = "pteroca-devkit-e2e-notes"
PIP_TIMEOUT = 240


def run(cmd: list[str], **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=PIP_TIMEOUT, **kwargs)
    assert result.returncode == 0, f"{' '.join(cmd)}\n{result.stdout}\n{result.stderr}"
    return result


@pytest.fixture
def venv(tmp_path):
    """A virtual environment without pip whose site-packages also reads ours (a .pth line)."""
    root = tmp_path / "venv"
    run([sys.executable, "-m", "venv", "--without-pip", str(root)])
    python = root / "bin" / "python"
    where = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
    site = Path(run([str(python), "-c", where]).stdout.strip())
    ours = sysconfig.get_paths()["purelib"]
    (site / "_pteroca_parent.pth").write_text(f"import site; site.addsitedir({ours!r})\n")
    return python, site


def pip(python: Path, *args: str) -> subprocess.CompletedProcess:
    return run(
        [sys.executable, "-m", "pip", "--python", str(python), *args, "--disable-pip-version-check"]
    )


@pytest.fixture
def installed_here(monkeypatch):
    """Make the venv's site-packages importable in this process; forget the plugin afterwards."""

    def add(site: Path) -> None:
        monkeypatch.syspath_prepend(str(site))

    yield add
    loader._forget_tables(NAME)
    verified.forget(NAME)


def test_scaffold_install_scan_enable_serve_test_disable_uninstall(
    tmp_path,
    venv,
    installed_here,
    osv_server,  # noqa: F811
):
    python, site = venv

    # 1. scaffold
    from click.testing import CliRunner

    from kernel.cli import main

    created = CliRunner().invoke(main, ["plugin", "new", NAME, "--dir", str(tmp_path / "src")])
    assert created.exit_code == 0, created.output
    project = tmp_path / "src" / DIST

    # 2. a real pip install: wheel built from the project, entry point registered
    pip(python, "install", "--no-deps", "--quiet", str(project))
    dist_info = next(site.glob("pteroca_devkit_e2e_notes-0.1.0.dist-info"))
    assert f"[pteroca.plugins]\n{NAME} = {NAME}" in (dist_info / "entry_points.txt").read_text()
    assert (site / NAME / "templates" / NAME / "index.html").is_file()  # package data shipped
    assert (site / NAME / "migrations" / "versions" / "0001_initial.py").is_file()
    installed_here(site)

    # 3. discovered (nothing imported), scanned with a real advisory service, enabled
    app = build_app(tmp_path / "instance", OSV_URL=osv_server.url)
    listed = {
        row["name"]: row for row in json.loads(run_cli(app, "plugin", "list", "--json").output)
    }
    assert listed[NAME]["state"] == "discovered" and listed[NAME]["source"] == "entry_point"
    assert listed[NAME]["path"] == str(site / NAME)
    assert NAME not in sys.modules
    [report] = json.loads(run_cli(app, "plugin", "scan", NAME, "--json").output)
    assert report["verdict"] == "pass", report
    # clean, and audited: at most pip's bytecode caches (LOW; pteroca compiles the source)
    assert {(f["rule"], f["severity"]) for f in report["findings"]} <= {
        ("cached-bytecode", "LOW")
    }, report["findings"]
    assert (DIST, "0.1.0") in osv_server.queried()
    enabled = run_cli(app, "plugin", "enable", NAME)
    assert enabled.exit_code == 0, enabled.output

    # 4. served through the app: page, setting, widget, menu
    app = rebuild(app)
    with app.app_context():
        from kernel.accounts.services import create_user

        create_user("author@example.com", PASSWORD, role="customer", verified=True)
    browser = app.test_client()
    assert browser.get(f"/plugins/{NAME}/").status_code == 302  # login first
    login(browser, "author@example.com", PASSWORD)
    assert browser.post(f"/plugins/{NAME}/", data={"text": "ship it"}).status_code == 303
    page = browser.get(f"/plugins/{NAME}/")
    assert page.status_code == 200 and "ship it" in page.text and "1 of 20 notes kept" in page.text
    dashboard = browser.get("/dashboard").text
    assert f'<p class="{NAME}-count">1 notes kept.' in dashboard
    assert f'href="/plugins/{NAME}/"' in dashboard

    # 5. the generated project's own tests, in the venv, with pteroca's pytest plugin only
    env = {k: v for k, v in os.environ.items() if not k.startswith("PTEROCA_")}
    env.pop("PYTHONPATH", None)
    tests = subprocess.run(
        [str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=PIP_TIMEOUT,
    )
    assert tests.returncode == 0, tests.stdout + tests.stderr
    assert "10 passed" in tests.stdout, tests.stdout  # the import contract test included

    # 6. disabled: the page is gone; uninstalled: tables dropped, files removed by pip
    assert run_cli(app, "plugin", "disable", NAME).exit_code == 0
    app = rebuild(app)
    assert app.test_client().get(f"/plugins/{NAME}/").status_code == 404
    removed = run_cli(app, "plugin", "uninstall", NAME, "--purge", "--yes")
    assert removed.exit_code == 0, removed.output
    assert f"run 'pip uninstall {DIST}' to remove its files" in removed.output
    with app.app_context():
        from sqlalchemy import inspect

        from kernel.extensions import db

        tables = inspect(db.engine).get_table_names()
        assert f"{NAME}_note" not in tables and f"alembic_version_{NAME}" not in tables
    pip(python, "uninstall", "--yes", "--quiet", DIST)
    assert not (site / NAME).exists() and not dist_info.exists()
    listing = run_cli(app, "plugin", "list", "--json")
    rows = json.loads(listing.output)
    assert NAME not in {row["name"] for row in rows}
