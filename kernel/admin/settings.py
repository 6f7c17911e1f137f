"""Site settings pages, one per group of :data:`kernel.site_settings.SCHEMA`."""

from __future__ import annotations

from flask import abort, flash, redirect, request, url_for
from flask_admin import expose
from flask_login import current_user

from kernel import audit, site_settings
from kernel.admin.base import ProtectedBaseView
from kernel.admin.forms import Field, read_form, with_submitted
from kernel.setting_types import SettingError

TEST_EMAIL_TEMPLATE = "test"  # email/test.txt in the theme


def site_fields(group: str) -> list[Field]:
    values = site_settings.get_group(group)
    fields = []
    for spec in site_settings.SCHEMA[group]:
        field = Field(spec=spec, value=values[spec.key])
        if spec.key == "active_theme":
            field.choices = tuple(discovered_theme_names())
            if not current_user.has_permission("admin.themes"):
                field.readonly_note = "Changing the theme needs the admin.themes permission."
        fields.append(field)
    return fields


def discovered_theme_names() -> list[str]:
    from kernel import themes

    return [n for n, t in themes.discover_themes(themes.themes_dir()).items() if not t.errors]


def save_group(group: str, values: dict, actor: str) -> dict:
    """Validate and store a group's values; a new active theme goes through the theme service."""
    from kernel import themes

    theme = values.pop("active_theme", None)
    if theme is not None and theme != site_settings.get("active_theme"):
        if theme not in discovered_theme_names():
            raise SettingError(f"no theme named {theme!r}")
    changed = site_settings.set_many(values)
    if theme is not None and theme != site_settings.get("active_theme"):
        themes.set_active_theme(theme, actor=actor)
        changed["active_theme"] = theme
    if changed:
        audit.record("settings.changed", group, {"keys": sorted(changed)}, actor=actor)
    return changed


class SettingsView(ProtectedBaseView):
    permission = "admin.settings"

    def __init__(self):
        super().__init__(
            name="Settings", endpoint="settings", url="/admin/settings", category="System"
        )

    def _page(self, group: str, fields: list[Field], status: int = 200, error: str = ""):
        return self.render(
            "admin/pteroca/settings.html",
            group=group,
            groups=list(site_settings.SCHEMA),
            fields=fields,
            error=error,
        ), status

    @expose("/")
    def index(self):
        return redirect(url_for(".group", group="general"))

    @expose("/<group>", methods=("GET", "POST"))
    def group(self, group: str):
        if group not in site_settings.SCHEMA:
            abort(404)
        fields = site_fields(group)
        if request.method == "GET":
            return self._page(group, fields)
        try:
            changed = save_group(group, read_form(fields, request.form), current_user.email)
        except SettingError as exc:
            return self._page(group, with_submitted(fields, request.form), 400, str(exc))
        flash(f"{group.capitalize()} settings saved" if changed else "Nothing changed", "success")
        return redirect(url_for(".group", group=group), 303)

    @expose("/email/test", methods=("POST",))
    def test_email(self):
        to = request.form.get("to", "").strip() or current_user.email
        from kernel.mail import send_email

        if "@" not in to:
            flash(f"{to!r} is not an email address", "error")
            return self._page("email", site_fields("email"), 400)
        # now: the admin wants the mail server's answer, not a queued job
        entry = send_email(to, "Test email", TEST_EMAIL_TEMPLATE, now=True, user=current_user)
        if entry.status != "sent":
            flash(f"The test email to {to} could not be sent: {entry.error}", "error")
            return self._page("email", site_fields("email"), 502)
        audit.record("settings.test_email", to)
        flash(f"Test email sent to {to}", "success")
        return redirect(url_for(".group", group="email"), 303)
