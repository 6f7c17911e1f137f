"""Site settings pages and plugin settings pages generated from declarations."""

from __future__ import annotations

from kernel import site_settings
from kernel.extensions import db
from kernel.models import AuditLog
from kernel.plugins.models import PluginSetting
from kernel.plugins.settings import settings_for


def test_general_settings_round_trip(app, admin):
    page = admin.get("/admin/settings/general").get_data(as_text=True)
    assert 'name="site_name"' in page and 'value="pteroca"' in page
    response = admin.post(
        "/admin/settings/general",
        data={
            "site_name": "Blockhost",
            "currency": "EUR",
            "motd": "Welcome",
            "terms_url": "",
            "registration_enabled": "1",
        },
    )  # landing_enabled unchecked
    assert response.status_code == 303
    with app.app_context():
        assert site_settings.get("site_name") == "Blockhost"
        assert site_settings.get("currency") == "EUR"
        assert site_settings.get("landing_enabled") is False
        assert site_settings.get("registration_enabled") is True
        entry = db.session.scalars(
            db.select(AuditLog).where(AuditLog.action == "settings.changed")
        ).one()
        assert "site_name" in entry.details["keys"]
    page = admin.get("/admin/settings/general").get_data(as_text=True)
    assert 'value="Blockhost"' in page and "settings saved" in page


def test_invalid_value_rerenders_with_message_and_stores_nothing(app, admin):
    response = admin.post(
        "/admin/settings/security",
        data={
            "email_verification": "required",
            "require_2fa_roles": "",
            "min_password_length": "ten",
        },
    )
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "must be a whole number" in page and 'value="ten"' in page
    with app.app_context():
        assert site_settings.get("email_verification") == "optional"  # nothing stored
        assert site_settings.get("min_password_length") == 10


def test_unknown_theme_is_refused(app, admin):
    response = admin.post("/admin/settings/appearance", data={"active_theme": "nope"})
    assert response.status_code == 400
    assert "no theme named" in response.get_data(as_text=True)


def test_unknown_group_is_404(admin):
    assert admin.get("/admin/settings/nope").status_code == 404


def test_send_test_email(app, admin):
    from kernel.mail import EmailLog

    response = admin.post("/admin/settings/email/test", data={"to": "ops@example.com"})
    assert response.status_code == 303
    assert "Test email sent" in admin.get(response.location).get_data(as_text=True)
    with app.app_context():
        entry = db.session.scalars(db.select(EmailLog)).one()
        assert (entry.recipient, entry.status) == ("ops@example.com", "sent")
    assert b"ops@example.com" in admin.get("/admin/emails/").data


def test_failed_test_email_is_reported(app, admin, fresh):
    app.config["MAIL_URL"] = "bogus://x"
    response = admin.post("/admin/settings/email/test", data={"to": "ops@example.com"})
    assert response.status_code == 502
    assert "could not be sent" in response.get_data(as_text=True)


# --- plugin settings -----------------------------------------------------------------------

URL = "/admin/plugins/hello_world/settings"


def _form(**overrides):
    """What the browser submits for hello_world's form with defaults (checkboxes unchecked)."""
    from kernel.plugins.discovery import discover_entry_points

    manifest = {p.name: p for p in discover_entry_points()}["hello_world"].manifest
    data = {
        key: "" if spec.secret or spec.default is None else str(spec.default)
        for key, spec in manifest.settings.items()
        if spec.type != "bool"
    }
    data.update(overrides)
    return data


def test_plugin_settings_round_trip(app, admin):
    page = admin.get(URL).get_data(as_text=True)
    assert 'name="greeting"' in page and 'name="api_token"' in page
    assert admin.post(URL, data=_form(greeting="Ahoy", keep_days="7")).status_code == 303
    with app.app_context():
        values = settings_for("hello_world")
        assert values["greeting"] == "Ahoy" and values["keep_days"] == 7


def test_plugin_setting_validation_stores_nothing(app, admin):
    response = admin.post(URL, data=_form(greeting="Ahoy", keep_days="many"))
    assert response.status_code == 400
    assert "whole number" in response.get_data(as_text=True)
    with app.app_context():
        assert settings_for("hello_world")["greeting"] == "Hello"


def test_secrets_are_write_only(app, admin):
    admin.post(URL, data=_form(api_token="sk-live-very-secret"))
    with app.app_context():
        assert settings_for("hello_world")["api_token"] == "sk-live-very-secret"
        row = db.session.scalars(
            db.select(PluginSetting).where(PluginSetting.key == "api_token")
        ).one()
        assert row.encrypted and "sk-live" not in row.value
    page = admin.get(URL).get_data(as_text=True)
    assert "sk-live-very-secret" not in page
    assert "stored: leave empty to keep it" in page
    # An empty submit keeps the stored secret.
    assert admin.post(URL, data=_form(greeting="Hi")).status_code == 303
    with app.app_context():
        assert settings_for("hello_world")["api_token"] == "sk-live-very-secret"
    # Clearing it is explicit.
    admin.post(URL, data=_form(**{"clear-api_token": "1"}))
    with app.app_context():
        assert settings_for("hello_world")["api_token"] == ""


def test_environment_override_is_read_only(app, admin, monkeypatch):
    monkeypatch.setenv("PTEROCA_PLUGIN_HELLO_WORLD_GREETING", "Howdy")
    page = admin.get(URL).get_data(as_text=True)
    assert "PTEROCA_PLUGIN_HELLO_WORLD_GREETING" in page
    assert 'value="Howdy" readonly' in page
    assert admin.post(URL, data=_form(greeting="Changed", keep_days="5")).status_code == 303
    with app.app_context():
        stored = {r.key for r in db.session.scalars(db.select(PluginSetting))}
        assert "greeting" not in stored and "keep_days" in stored
        assert settings_for("hello_world")["greeting"] == "Howdy"


def test_settings_of_unknown_plugin(admin):
    response = admin.get("/admin/plugins/nope/settings")
    assert response.status_code == 400
    assert "no plugin named" in response.get_data(as_text=True)
