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


def admit_builtin_plugins() -> dict[str, str]:
    """Scan pteroca's own plugins and admit the passing ones for this whole process.

    For test sessions: unit tests import builtin plugin modules (at collection, with no
    app), and the verified loader serves plugin modules only from an admission. This
    runs the gate's code checks (file checks, bandit, the dynamic-code rules; not the
    advisory audit, which needs a service) on each builtin plugin's files, read once,
    and admits exactly those bytes; a plugin that does not pass is not importable. A
    builtin plugin whose only serious findings are the sensitive capabilities it declares
    (a ``warn`` an admin confirms) is admitted as if confirmed; any other finding at or
    above the warn threshold keeps it out.
    Apps built later admit the same files from their own scans, so nothing is re-imported.
    Returns plugin name -> verdict.
    """
    from kernel.plugins import verified
    from kernel.plugins.discovery import discover_entry_points
    from kernel.security.findings import Severity, Verdict
    from kernel.security.gate import code_findings
    from kernel.security.policy import verdict_for

    verdicts: dict[str, str] = {}
    for plugin in discover_entry_points():
        if plugin.distribution != "pteroca" or not plugin.ok:
            continue
        snapshot = plugin.snapshot()
        findings = code_findings(plugin, snapshot)
        verdict = verdict_for(findings)
        verdicts[plugin.name] = str(verdict)
        confirmed = verdict == Verdict.WARN and all(
            f.rule == "sensitive-capability" for f in findings if f.severity >= Severity.HIGH)
        if verdict == Verdict.PASS or confirmed:
            verified.admit(verified.Admission(plugin.name, plugin.module, plugin.path,
                                              snapshot.digests), pinned=True)
    return verdicts


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
