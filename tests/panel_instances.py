"""Instances with a panel plugin enabled, for the Pterodactyl and Pelican plugin suites
(tests/pterodactyl/conftest.py, tests/pelican_plugin/conftest.py).

A template instance is made once per session (the scan gate passed against the local OSV
fake; in the PostgreSQL pass its database is the template each test's database is copied
from); each test gets a copy of it, its plugin configured for the test's simulator.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from kernel import testing as kernel_testing
from kernel.extensions import db
from kernel.testing import build_app, run_cli


def make_template(tmp_path_factory, request, name: str, plugins: tuple[str, ...]) -> Path:
    """An instance named ``name`` with the store and ``plugins`` enabled (and what they
    require), to copy per test."""
    from tests.fakes.osv_server import FakeOsv

    instance = tmp_path_factory.mktemp(name) / "instance"
    extra = {}
    if kernel_testing.database_for_instance is not None:  # the PostgreSQL pass
        from tests.services import POSTGRES_ENV, fresh_postgres_database

        extra["DATABASE_URL"], drop = fresh_postgres_database(os.environ[POSTGRES_ENV])
        request.addfinalizer(drop)
    with FakeOsv() as osv:
        app = build_app(instance, OSV_URL=osv.url, **extra)
        for plugin in plugins:
            result = run_cli(
                app, "plugin", "enable", plugin, "--with-dependencies", "--yes", "--accept-risk"
            )
            assert result.exit_code == 0, result.output
    with app.app_context():  # a template database must have no open connections
        db.engine.dispose()
    (instance / "template-database-url").write_text(app.config.get("DATABASE_URL") or "")
    return instance


def configure(app, plugin: str, **values: Any) -> None:
    """Store ``plugin``'s settings (in the current app context when it is ``app``'s: one
    session)."""
    from flask import current_app, has_app_context

    from kernel.plugins.settings import set_settings

    def store() -> None:
        set_settings(current_app.extensions["pteroca"].discovered[plugin].manifest, values)

    if has_app_context() and current_app._get_current_object() is app:
        store()
        return
    with app.app_context():
        store()


def instance_app(
    template: Path, tmp_path: Path, plugin: str, settings: dict[str, Any]
) -> Iterator[Any]:
    """A copy of ``template`` (and, in the PostgreSQL pass, of its database) as an app with
    ``plugin`` loaded and configured with ``settings``; a fixture's body (yields the app)."""
    instance = tmp_path / "instance"
    shutil.copytree(template, instance)
    extra = {}
    drop: Callable[[], None] | None = None
    template_url = (instance / "template-database-url").read_text()
    if template_url.startswith("postgresql"):  # the PostgreSQL pass: copy the database too
        from sqlalchemy.engine import make_url

        from tests.services import POSTGRES_ENV, fresh_postgres_database

        url, drop = fresh_postgres_database(
            os.environ[POSTGRES_ENV], template=make_url(template_url).database, ahead=True
        )
        extra["DATABASE_URL"] = url
    app = build_app(instance, MAIL_URL=f"file://{instance}/mail.log", **extra)
    assert plugin in app.extensions["pteroca"].loaded, app.extensions["pteroca"].problems
    configure(app, plugin, **settings)
    yield app
    if drop is not None:
        with app.app_context():
            db.engine.dispose()
        drop()
