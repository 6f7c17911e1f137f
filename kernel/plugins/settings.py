"""Plugin settings: declared in the manifest, stored per plugin, secrets encrypted at rest.

Resolution order for a value: ``PTEROCA_PLUGIN_<NAME>_<KEY>`` environment
variable -> stored value -> manifest default.
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from flask import current_app

from kernel.config import plugin_setting_env
from kernel.extensions import db
from kernel.plugins.host import plugin_host
from kernel.plugins.manifest import Manifest
from kernel.plugins.models import PluginSetting
from kernel.setting_types import SettingError, coerce


def _fernet() -> Fernet:
    key = hashlib.sha256(("pteroca-settings:" + current_app.config["SECRET_KEY"]).encode()).digest()
    return Fernet(base64.urlsafe_b64encode(key))


def get_settings(manifest: Manifest) -> dict[str, Any]:
    """Every declared setting of a plugin with its effective value."""
    stored = {
        row.key: row
        for row in db.session.scalars(
            db.select(PluginSetting).where(PluginSetting.plugin == manifest.name)
        )
    }
    out: dict[str, Any] = {}
    for key, spec in manifest.settings.items():
        env = plugin_setting_env(manifest.name, key)
        if env is not None:
            out[key] = coerce(spec, env)
        elif key in stored:
            out[key] = coerce(spec, _decode(stored[key]))
        else:
            out[key] = spec.default
    return out


def is_overridden(manifest: Manifest, key: str) -> bool:
    return plugin_setting_env(manifest.name, key) is not None


def _decode(row: PluginSetting) -> str:
    if not row.encrypted:
        return row.value
    try:
        return _fernet().decrypt(row.value.encode()).decode()
    except InvalidToken:
        current_app.logger.error(
            "setting %s.%s cannot be decrypted (secret key changed?)", row.plugin, row.key
        )
        return ""


def set_settings(manifest: Manifest | str, values: dict[str, Any]) -> None:
    """Validate and store values of a plugin (its manifest, or its name as the current app
    discovered it); unknown keys and bad values raise SettingError, storing nothing."""
    if isinstance(manifest, str):
        manifest = _manifest(manifest)
    cleaned: dict[str, Any] = {}
    for key, raw in values.items():
        spec = manifest.settings.get(key)
        if spec is None:
            raise SettingError(f"plugin {manifest.name!r} has no setting {key!r}")
        cleaned[key] = coerce(spec, raw)
        if spec.required and cleaned[key] in (None, ""):
            raise SettingError(f"{spec.label} is required")
    for key, value in cleaned.items():
        spec = manifest.settings[key]
        text = "" if value is None else str(value).lower() if spec.type == "bool" else str(value)
        row = db.session.scalar(
            db.select(PluginSetting).where(
                PluginSetting.plugin == manifest.name, PluginSetting.key == key
            )
        )
        if row is None:
            row = PluginSetting(plugin=manifest.name, key=key)
            db.session.add(row)
        row.encrypted = spec.secret
        row.value = _fernet().encrypt(text.encode()).decode() if spec.secret else text
    db.session.commit()


def _manifest(name: str) -> Manifest:
    plugin = plugin_host().discovered.get(name)
    if plugin is None or plugin.manifest is None:
        raise SettingError(f"no plugin named {name!r}")
    return plugin.manifest


def settings_for(name: str) -> dict[str, Any]:
    """Effective settings of plugin ``name`` as discovered by the current app."""
    return get_settings(_manifest(name))
