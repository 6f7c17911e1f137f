"""Configuration: ``PTEROCA_*`` environment variables over embedded defaults.

Precedence, lowest first: defaults -> environment -> the ``config`` dict given
to :func:`kernel.create_app`. Keys are the short names below (``DATABASE_URL``);
the environment spells them ``PTEROCA_DATABASE_URL``.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

ENV_PREFIX = "PTEROCA_"

# name -> (default, type). ``None`` defaults are computed in load_config.
DEFAULTS: dict[str, tuple[Any, type]] = {
    "DATABASE_URL": (None, str),
    "SECRET_KEY": (None, str),
    "REDIS_URL": ("", str),
    "INSTANCE_PATH": (None, str),
    "PLUGINS_DIR": ("plugins", str),
    "THEMES_DIR": ("themes", str),
    "SAFE_MODE": (False, bool),
    "OSV_URL": ("https://api.osv.dev", str),
    "REQUIRE_AUDIT": (False, bool),
    "SCAN_MAX_AGE_HOURS": (24, int),
    "MAIL_URL": ("console://", str),
    "PLUGIN_POLL_SECONDS": (1.0, float),  # kernel/wsgi.py: one primary-key read per poll
    "CRON_LEASE_SECONDS": (60.0, float),  # kernel/cron.py: how long a dead runner holds a slot
    "BASE_URL": ("http://localhost:5000", str),
    "MAX_REQUEST_BYTES": (4 * 1024 * 1024, int),  # kernel/web/request_gate.py
    "HEALTH_TOKEN": ("", str),  # kernel/health.py: the whole /-/health report
    # Customers' data exports (ZIP files); default <instance>/exports. Never under a web root;
    # with several machines, a folder every web process and worker shares (docs/privacy.md).
    "EXPORTS_DIR": ("", str),
}

TRUE_WORDS = {"1", "true", "yes", "on"}
FALSE_WORDS = {"0", "false", "no", "off", ""}


class ConfigError(ValueError):
    """A configuration value that cannot be used; the message names the variable."""


def _coerce(name: str, raw: Any, kind: type) -> Any:
    if not isinstance(raw, str):
        return raw
    if kind is bool:
        low = raw.strip().lower()
        if low in TRUE_WORDS:
            return True
        if low in FALSE_WORDS:
            return False
        raise ConfigError(f"{ENV_PREFIX}{name}={raw!r} is not a boolean (use 1 or 0)")
    if kind in (int, float):
        try:
            return kind(raw)
        except ValueError:
            raise ConfigError(f"{ENV_PREFIX}{name}={raw!r} is not a number") from None
    return raw


def load_config(overrides: dict | None = None, environ: dict | None = None) -> dict[str, Any]:
    """Return the effective configuration as a dict of short names."""
    env = os.environ if environ is None else environ
    overrides = dict(overrides or {})
    cfg: dict[str, Any] = {}
    for name, (default, kind) in DEFAULTS.items():
        value = default
        if ENV_PREFIX + name in env:
            value = env[ENV_PREFIX + name]
        if name in overrides:
            value = overrides.pop(name)
        cfg[name] = _coerce(name, value, kind)

    instance = Path(cfg["INSTANCE_PATH"] or Path.cwd() / "instance").resolve()
    cfg["INSTANCE_PATH"] = str(instance)
    if not cfg["DATABASE_URL"]:
        cfg["DATABASE_URL"] = f"sqlite:///{instance / 'pteroca.db'}"
    cfg["PLUGINS_DIR"] = str(Path(cfg["PLUGINS_DIR"]).resolve())
    cfg["THEMES_DIR"] = str(Path(cfg["THEMES_DIR"]).resolve())
    cfg["EXPORTS_DIR"] = str(Path(cfg["EXPORTS_DIR"] or instance / "exports").resolve())
    if not cfg["SECRET_KEY"]:
        cfg["SECRET_KEY"] = persisted_secret_key(instance)
    # Anything left (Flask or extension settings such as TESTING) passes through.
    cfg.update(overrides)
    return cfg


def persisted_secret_key(instance: Path) -> str:
    """Read the instance's generated secret key, creating it (mode 0600) on first use."""
    path = instance / "secret_key"
    if path.exists():
        return path.read_text().strip()
    instance.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process won the race: use its key
        return path.read_text().strip()
    with os.fdopen(fd, "w") as fh:
        fh.write(key)
    return key


def plugin_setting_env(plugin: str, key: str, environ: dict | None = None) -> str | None:
    """The ``PTEROCA_PLUGIN_<NAME>_<KEY>`` override for a plugin setting, if set."""
    env = os.environ if environ is None else environ
    return env.get(f"{ENV_PREFIX}PLUGIN_{plugin.upper()}_{key.upper()}")
