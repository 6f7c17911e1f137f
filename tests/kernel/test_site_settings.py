import pytest

from kernel import site_settings
from kernel.plugins.settings import SettingError


def test_defaults_and_typed_storage(app):
    with app.app_context():
        assert site_settings.get("landing_enabled") is True
        changed = site_settings.set_many({"landing_enabled": "0", "min_password_length": "12"})
        assert changed == {"landing_enabled": (True, False), "min_password_length": (10, 12)}
        assert site_settings.get_group("general")["landing_enabled"] is False


def test_one_bad_value_stores_nothing(app):
    with app.app_context():
        with pytest.raises(SettingError, match="Email verification must be one of"):
            site_settings.set_many({"motd": "hi", "email_verification": "sometimes"})
        assert site_settings.get("motd") == ""
