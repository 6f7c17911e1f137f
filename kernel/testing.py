"""Helpers to build throw-away apps for tests (also used by the pytest plugin)."""

from __future__ import annotations

from pathlib import Path

from flask import Flask

from kernel.app import create_app


def build_app(instance: Path, **config) -> Flask:
    """Create a migrated app whose instance, database and plugins folder live under ``instance``."""
    instance = Path(instance)
    (instance / "plugins").mkdir(parents=True, exist_ok=True)
    cfg = {
        "TESTING": True,
        "INSTANCE_PATH": str(instance),
        "PLUGINS_DIR": str(instance / "plugins"),
        "SECRET_KEY": "test-secret-key",
        "WTF_CSRF_ENABLED": False,
        "PLUGIN_POLL_SECONDS": 0.0,
    }
    cfg.update(config)
    bootstrap = create_app(cfg)
    with bootstrap.app_context():
        from kernel.plugins.services import upgrade_all

        upgrade_all()
    return create_app(cfg)


def rebuild(app: Flask) -> Flask:
    """A new app with the same configuration: what the hot swap does after a plugin change."""
    keys = ("TESTING", "INSTANCE_PATH", "PLUGINS_DIR", "SECRET_KEY", "WTF_CSRF_ENABLED",
            "PLUGIN_POLL_SECONDS", "DATABASE_URL", "SAFE_MODE", "OSV_URL", "REQUIRE_AUDIT")
    return create_app({k: app.config[k] for k in keys if k in app.config})
