"""The plugins page: state, dependencies, health and scan reports; scan/enable/disable/configure.

Every action is a POST (CSRF-checked) that calls :mod:`kernel.plugin_lifecycle.services`;
a refusal is shown as its one-line message with a 4xx status. After an enable
or disable the services bump the plugin generation and the hot swap
(:class:`kernel.wsgi.HotSwapApplication`) serves the new plugin set from the
next request on.
"""

from __future__ import annotations

from flask import current_app, flash, redirect, request, url_for
from flask_admin import expose
from flask_login import current_user

from kernel import audit
from kernel.admin.base import ProtectedBaseView
from kernel.admin.forms import Field, is_secret, read_form, with_submitted
from kernel.extensions import db
from kernel.plugin_lifecycle import services
from kernel.plugins.settings import get_settings, is_overridden, set_settings
from kernel.setting_types import SettingError


def _truthy(name: str) -> bool:
    return request.form.get(name, "") not in ("", "0", "false", "off")


def plugin_rows() -> list[dict]:
    from kernel.health import run_health_checks
    from kernel.security import latest_scan

    health = run_health_checks()
    rows = services.list_plugins()
    for row in rows:
        record = latest_scan(row["name"])
        row["scan_report"] = record.to_dict() if record else None
        row["health"] = health.get(row["name"], {})
    return rows


def setting_fields(manifest) -> list[Field]:
    from kernel.config import ENV_PREFIX
    from kernel.plugins.models import PluginSetting

    values = get_settings(manifest)
    stored = set(
        db.session.scalars(
            db.select(PluginSetting.key).where(PluginSetting.plugin == manifest.name)
        )
    )
    fields = []
    for key, spec in manifest.settings.items():
        field = Field(
            spec=spec, value=None if is_secret(spec) else values[key], stored=key in stored
        )
        if is_overridden(manifest, key):
            variable = f"{ENV_PREFIX}PLUGIN_{manifest.name.upper()}_{key.upper()}"
            field.readonly_note = f"Set by the environment variable {variable}; change it there."
            field.stored = True
        fields.append(field)
    return fields


class PluginsView(ProtectedBaseView):
    permission = "admin.plugins"

    def __init__(self):
        super().__init__(
            name="Plugins", endpoint="plugins", url="/admin/plugins", category="System"
        )

    def _list(self, status: int = 200):
        from kernel.plugin_lifecycle.upload import Limits, human

        limit = human(Limits.from_config(current_app.config).archive_bytes)
        return self.render(
            "admin/pteroca/plugins.html", plugins=plugin_rows(), upload_limit=limit
        ), status

    def _refused(self, exc: Exception, status: int = 400):
        flash(str(exc), "error")
        return self._list(status)

    def _done(self, message: str):
        flash(message, "success")
        return redirect(url_for(".index"), 303)

    @expose("/")
    def index(self):
        return self._list()

    @expose("/upload", methods=("POST",))
    def upload(self):
        """A drop-in plugin as a zip: checked, unpacked into the plugins folder, not enabled."""
        from kernel.plugin_lifecycle.upload import UploadRefused, install_zip

        archive = request.files.get("archive")
        if archive is None or not archive.filename:
            return self._refused(UploadRefused("Upload refused: choose a .zip file first"))
        try:
            plugin = install_zip(archive.stream, actor=current_user.email)
        except UploadRefused as exc:
            return self._refused(UploadRefused(f"Upload refused: {exc}"), exc.status)
        return self._done(
            f"Uploaded {plugin.name} {plugin.version} to the plugins folder. It is "
            "not enabled: enabling scans it first."
        )

    @expose("/<plugin>/scan", methods=("POST",))
    def scan(self, plugin: str):
        name = plugin  # Flask-Admin reserves the argument "name"
        from kernel.plugin_lifecycle.rescan import scan_and_enforce

        try:
            plugin = services.get_plugin(name)
            record = scan_and_enforce(plugin, force=True, actor=current_user.email)
            audit.record("plugin.scanned", name, {"verdict": record.verdict, "scan_id": record.id})
        except services.user_errors() as exc:
            return self._refused(exc)
        counts = record.counts()
        return self._done(
            f"{name} scanned: {record.verdict} ({counts['CRITICAL']} critical, "
            f"{counts['HIGH']} high, {counts['MEDIUM']} medium, {counts['LOW']} low)"
        )

    @expose("/<plugin>/enable", methods=("POST",))
    def enable(self, plugin: str):
        name = plugin  # Flask-Admin reserves the argument "name"
        from kernel.security import ConfirmationRequired, Severity

        with_dependencies = _truthy("with_dependencies")
        accept_risk = _truthy("accept_risk")
        try:
            done = services.enable(
                name,
                with_dependencies=with_dependencies,
                accept_risk=accept_risk,
                actor=current_user.email,
            )
        except ConfirmationRequired as exc:
            findings = [f.to_dict() for f in exc.record.at_least(Severity.HIGH)]
            return self.render(
                "admin/pteroca/confirm_enable.html",
                name=name,
                risky=exc.record.plugin,
                findings=findings,
                message=str(exc),
                with_dependencies=with_dependencies,
            ), 409
        except services.user_errors() as exc:
            return self._refused(exc)
        return self._done(f"Enabled {', '.join(done)}" if done else f"{name} is already enabled")

    @expose("/<plugin>/disable", methods=("POST",))
    def disable(self, plugin: str):
        name = plugin  # Flask-Admin reserves the argument "name"
        try:
            done = services.disable(name, cascade=_truthy("cascade"), actor=current_user.email)
        except services.user_errors() as exc:
            return self._refused(exc)
        return self._done(f"Disabled {', '.join(done)}")

    @expose("/<plugin>/uninstall", methods=("POST",))
    def uninstall(self, plugin: str):
        name = plugin  # Flask-Admin reserves the argument "name"
        try:
            hint = services.uninstall(name, purge=_truthy("purge"), actor=current_user.email)
        except services.user_errors() as exc:
            return self._refused(exc)
        return self._done(f"Uninstalled {name}" + (f": {hint}" if hint else ""))

    @expose("/<plugin>/settings", methods=("GET", "POST"))
    def settings(self, plugin: str):
        name = plugin  # Flask-Admin reserves the argument "name"
        try:
            manifest = services.get_plugin(name).manifest
        except services.user_errors() as exc:
            return self._refused(exc)
        fields = setting_fields(manifest)
        if request.method == "GET":
            return self.render(
                "admin/pteroca/plugin_settings.html",
                name=name,
                manifest=manifest,
                fields=fields,
                error="",
            )
        values = read_form(fields, request.form)
        try:
            set_settings(manifest, values)
        except SettingError as exc:
            return self.render(
                "admin/pteroca/plugin_settings.html",
                name=name,
                manifest=manifest,
                fields=with_submitted(fields, request.form),
                error=str(exc),
            ), 400
        audit.record("plugin.settings_changed", name, {"keys": sorted(values)})
        return self._done(f"Settings of {name} saved")
