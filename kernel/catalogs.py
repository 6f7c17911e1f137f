"""Where translations come from: the kernel's catalog, plus any a loaded plugin ships.

The kernel's catalog is ``kernel/translations/<lang>/LC_MESSAGES/messages.mo``
(``BABEL_TRANSLATION_DIRECTORIES``). A plugin may ship its own catalog in
``<plugin>/translations/<lang>/LC_MESSAGES/messages.mo``; Flask-Babel merges
every directory into one ``messages`` domain per request. See docs/i18n.md.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from flask import Flask
from flask_babel import Babel, get_locale

from kernel.web.i18n import DEFAULT_LANGUAGE


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
    babel_cfg.instance = Babel(date_formats=shared.date_formats)
    extra = [str(Path(folder) / "translations") for folder in plugin_folders
             if (Path(folder) / "translations").is_dir()]
    # Catalogs merge in order, later ones winning: plugins first, so a plugin
    # cannot change what the kernel's own strings say.
    babel_cfg.translation_directories[:0] = [d for d in extra
                                             if d not in babel_cfg.translation_directories]
    app.jinja_env.globals["current_locale"] = current_locale
