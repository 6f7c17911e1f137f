"""The themes page: list the installed themes, choose the active one, create one from default."""

from __future__ import annotations

from flask import current_app, flash, redirect, request, url_for
from flask_admin import expose
from flask_login import current_user

from kernel import site_settings, themes
from kernel.admin.base import ProtectedBaseView


class ThemesView(ProtectedBaseView):
    permission = "admin.themes"

    def __init__(self):
        super().__init__(name="Themes", endpoint="themes", url="/admin/themes", category="System")

    def _list(self, status: int = 200):
        found = themes.discover_themes(themes.themes_dir())
        state = current_app.extensions.get("pteroca_theme")
        return self.render(
            "admin/pteroca/themes.html",
            themes=list(found.values()),
            chosen=site_settings.get("active_theme"),
            serving=state.active.name if state else "default",
            themes_dir=themes.themes_dir(),
        ), status

    @expose("/")
    def index(self):
        return self._list()

    @expose("/activate", methods=("POST",))
    def activate(self):
        name = request.form.get("name", "")
        try:
            themes.set_active_theme(name, actor=current_user.email)
        except themes.ThemeError as exc:
            flash(str(exc), "error")
            return self._list(400)
        flash(f"Theme {name!r} is now active", "success")
        return redirect(url_for(".index"), 303)

    @expose("/create", methods=("POST",))
    def create(self):
        name = request.form.get("name", "").strip()
        try:
            theme = themes.create_theme(name, themes.themes_dir(), actor=current_user.email)
        except themes.ThemeError as exc:
            flash(str(exc), "error")
            return self._list(400)
        except OSError as exc:
            flash(f"could not create the theme: {exc.strerror or exc}", "error")
            return self._list(400)
        flash(
            f"Theme {name!r} created in {theme.path}; edit its files, then activate it", "success"
        )
        return redirect(url_for(".index"), 303)
