"""Where translations come from: the kernel's catalog, plus any a loaded plugin ships.

The kernel's catalog is ``kernel/translations/<lang>/LC_MESSAGES/messages.mo``
(``BABEL_TRANSLATION_DIRECTORIES``). A plugin may ship its own catalog in
``<plugin>/translations/<lang>/LC_MESSAGES/messages.mo``; Flask-Babel merges
every directory into one ``messages`` domain per request. See docs/i18n.md.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cached_property
from pathlib import Path

from flask import Flask
from flask.globals import _cv_app
from flask_babel import Babel, Domain, _get_current_context, get_locale, get_translations

from kernel.web.i18n import DEFAULT_LANGUAGE


class _RequestDomain(Domain):
    """Flask-Babel's domain, remembering per app context which catalog goes with the locale.

    Flask-Babel looks the locale up and formats its name for every string it translates
    (about forty on a page). The memo holds the locale *object* it was made for, so a
    changed locale (``force_locale`` for an email in the recipient's language,
    ``refresh()``) is looked up again.
    """

    def get_translations(self):
        ctx = _get_current_context()
        if ctx is None:
            return super().get_translations()
        memo = getattr(ctx, "pteroca_translations", None)
        locale = getattr(ctx, "babel_locale", None)
        if memo is not None and locale is not None and memo[0] is locale and memo[1] is self:
            return memo[2]
        translations = super().get_translations()
        ctx.pteroca_translations = (getattr(ctx, "babel_locale", None), self, translations)
        return translations


class _Babel(Babel):
    @cached_property
    def domain_instance(self):
        return _RequestDomain(domain=self.domain)


def _template_translations():
    """The catalog for a template's ``_()``: the memo above when it is still the one for
    the current locale and domain (read without Flask's proxies: a page has dozens of
    strings), else Flask-Babel's own lookup."""
    app_ctx = _cv_app.get(None)
    babel_ctx = vars(app_ctx.g).get("_flask_babel") if app_ctx is not None else None
    if babel_ctx is not None:
        state = vars(babel_ctx)
        memo = state.get("pteroca_translations")
        if (
            memo is not None
            and memo[0] is not None
            and memo[0] is state.get("babel_locale")
            and memo[1] is state.get("babel_domain")
        ):
            return memo[2]
    return get_translations()


def current_locale() -> str:
    """The language of the page being rendered (for ``<html lang>``)."""
    locale = get_locale()
    return str(locale) if locale else DEFAULT_LANGUAGE


def init_i18n(app: Flask, plugin_folders: Iterable[Path]) -> None:
    """Add loaded plugins' catalogs (after ``babel.init_app``) and the template helper."""
    babel_cfg = app.extensions["babel"]
    # Flask-Babel caches loaded catalogs on its Babel object (``domain_instance``), and the
    # module-wide one in kernel.app is shared by every app of the process. A hot swap builds
    # a new app when a plugin is enabled or disabled: give each app its own cache, so the
    # new app reads the catalogs of its own plugins.
    shared = babel_cfg.instance
    babel_cfg.instance = _Babel(date_formats=shared.date_formats)
    extra = [
        str(Path(folder) / "translations")
        for folder in plugin_folders
        if (Path(folder) / "translations").is_dir()
    ]
    # Catalogs merge in order, later ones winning: plugins first, so a plugin
    # cannot change what the kernel's own strings say.
    babel_cfg.translation_directories[:0] = [
        d for d in extra if d not in babel_cfg.translation_directories
    ]
    app.jinja_env.globals["current_locale"] = current_locale
    app.jinja_env.install_gettext_callables(  # as Flask-Babel's, through the memo
        gettext=lambda s: _template_translations().ugettext(s),
        ngettext=lambda s, p, n: _template_translations().ungettext(s, p, n),
        pgettext=lambda c, s: _template_translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: _template_translations().unpgettext(c, s, p, n),
        newstyle=True,
    )
