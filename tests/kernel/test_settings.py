"""Plugin settings: manifest defaults, stored values, secrets encrypted, environment overrides."""

from __future__ import annotations

import pytest

from kernel.extensions import db
from kernel.plugins.models import PluginSetting
from kernel.plugins.settings import SettingError, set_settings, settings_for
from tests.helpers import write_plugin

SETTINGS = """
[settings.colour]
type = "choice"
choices = ["red", "blue"]
default = "red"

[settings.limit]
type = "int"
default = 3

[settings.token]
type = "secret"
"""


@pytest.fixture
def configured(app, plugins_dir, fresh):
    write_plugin(plugins_dir, "conf", extra_manifest=SETTINGS)
    return fresh(app)


def test_defaults_stored_values_and_secrets(configured):
    with configured.app_context():
        assert settings_for("conf") == {"colour": "red", "limit": 3, "token": None}
        manifest = configured.extensions["pteroca"].discovered["conf"].manifest
        set_settings(manifest, {"colour": "blue", "limit": "7", "token": "sk_live_abc"})
        assert settings_for("conf") == {"colour": "blue", "limit": 7, "token": "sk_live_abc"}
        raw = db.session.scalar(db.select(PluginSetting.value).where(PluginSetting.key == "token"))
        assert "sk_live_abc" not in raw


def test_bad_values_are_refused_and_nothing_is_stored(configured):
    with configured.app_context():
        manifest = configured.extensions["pteroca"].discovered["conf"].manifest
        with pytest.raises(SettingError, match="Colour must be one of: red, blue"):
            set_settings(manifest, {"limit": 5, "colour": "green"})
        with pytest.raises(SettingError, match="whole number"):
            set_settings(manifest, {"limit": "many"})
        with pytest.raises(SettingError, match="no setting 'nope'"):
            set_settings(manifest, {"nope": 1})
        assert settings_for("conf")["limit"] == 3


def test_environment_overrides(configured, monkeypatch):
    monkeypatch.setenv("PTEROCA_PLUGIN_CONF_LIMIT", "42")
    with configured.app_context():
        assert settings_for("conf")["limit"] == 42
