"""Helpers to build throw-away apps for tests (also used by the pytest plugin)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from flask import Flask

from kernel.app import create_app


NO_OSV = "http://127.0.0.1:9"
HEALTH_TOKEN = "test-health-token"
# Headers that show the whole /-/health report of an app made by build_app.
HEALTH_HEADERS = {"Authorization": f"Bearer {HEALTH_TOKEN}"}

# When set, ``build_app`` asks it for the database of an instance that names none: the test
# suite points every app at a fresh PostgreSQL database this way (PTEROCA_TEST_DATABASE=postgres).
database_for_instance: Callable[[Path], str] | None = None


def build_app(instance: Path, **config) -> Flask:
    """Create a migrated app whose instance, database and plugins folder live under ``instance``."""
    instance = Path(instance)
    (instance / "plugins").mkdir(parents=True, exist_ok=True)
    cfg = {
        "TESTING": True,
        "INSTANCE_PATH": str(instance),
        "PLUGINS_DIR": str(instance / "plugins"),
        "THEMES_DIR": str(instance / "themes"),
        "SECRET_KEY": "test-secret-key",
        "WTF_CSRF_ENABLED": False,
        "PLUGIN_POLL_SECONDS": 0.0,
        "PASSWORD_HASH_FAST": True,
        "HEALTH_TOKEN": HEALTH_TOKEN,
    }
    if "PTEROCA_OSV_URL" not in os.environ:
        # Tests never reach the real advisory service: a closed local port ("not audited").
        cfg["OSV_URL"] = NO_OSV
    cfg.update(config)
    if "DATABASE_URL" not in cfg and database_for_instance is not None:
        cfg["DATABASE_URL"] = database_for_instance(instance)
    bootstrap = create_app(cfg)
    with bootstrap.app_context():
        from kernel.plugins.services import upgrade_all

        upgrade_all()
    app = create_app(cfg)
    app.config["PTEROCA_BUILD_CONFIG"] = dict(cfg)
    return app


def rebuild(app: Flask) -> Flask:
    """A new app with the same configuration: what the hot swap does after a plugin change."""
    cfg = app.config.get("PTEROCA_BUILD_CONFIG")
    if cfg is None:
        keys = ("TESTING", "INSTANCE_PATH", "PLUGINS_DIR", "SECRET_KEY", "WTF_CSRF_ENABLED",
                "PLUGIN_POLL_SECONDS", "DATABASE_URL", "THEMES_DIR", "SAFE_MODE", "OSV_URL",
                "REQUIRE_AUDIT", "MAIL_URL", "HEALTH_TOKEN")
        cfg = {k: app.config[k] for k in keys if k in app.config}
    cfg = dict(cfg)
    if cfg.get("OSV_URL") == NO_OSV and os.environ.get("PTEROCA_OSV_URL"):
        del cfg["OSV_URL"]  # a test pointed every later app at its advisory fake
    new = create_app(cfg)
    new.config["PTEROCA_BUILD_CONFIG"] = dict(cfg)
    return new
