"""The application factory: configuration, extensions, plugin loading, templates, routes."""

from __future__ import annotations

from pathlib import Path

import jinja2
from flask import Blueprint, Flask, render_template
from flask_babel import Babel
from flask_babel import gettext as _
from flask_login import LoginManager
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import inspect
from sqlalchemy.exc import OperationalError, ProgrammingError

import pteroca_themes
from kernel.config import load_config
from kernel.extensions import db

KERNEL_TEMPLATES = Path(__file__).resolve().parent / "templates"
KERNEL_TRANSLATIONS = Path(__file__).resolve().parent / "translations"  # docs/i18n.md
DEFAULT_THEME = Path(pteroca_themes.__file__).resolve().parent / "default"

csrf = CSRFProtect()
login_manager = LoginManager()
login_manager.login_view = "web.login"
babel = Babel()


@login_manager.user_loader
def _load_user(user_id: str):
    from kernel.accounts.guard import load_user

    return load_user(user_id)


def _import_models() -> None:
    """Register every kernel table with the metadata (the migrations mirror them)."""
    import kernel.accounts.models  # noqa: F401
    import kernel.cron  # noqa: F401
    import kernel.mail  # noqa: F401
    import kernel.models  # noqa: F401
    import kernel.payments.models  # noqa: F401
    import kernel.plugins.models  # noqa: F401
    import kernel.security  # noqa: F401
    import kernel.site_settings  # noqa: F401


def create_app(config: dict | None = None) -> Flask:
    cfg = load_config(config)
    app = Flask("kernel", instance_path=cfg["INSTANCE_PATH"], instance_relative_config=False)
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    app.config.update(cfg)
    app.config.setdefault("SQLALCHEMY_DATABASE_URI", cfg["DATABASE_URL"])
    app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {"pool_pre_ping": True})
    app.config["THEME_STATIC"] = str(DEFAULT_THEME / "static")
    from kernel import themes

    themes.init_app(app)  # sandboxed Jinja: must precede every use of app.jinja_env
    _import_models()
    db.init_app(app)
    csrf.init_app(app)
    login_manager.init_app(app)
    from kernel.web.i18n import select_locale

    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(KERNEL_TRANSLATIONS))
    babel.init_app(app, locale_selector=select_locale)
    from kernel.web.headers import init_headers

    init_headers(app)

    with app.app_context():
        host = _load_plugins(app)
    app.extensions["pteroca"] = host
    from kernel.catalogs import init_i18n

    init_i18n(app, [host.discovered[name].path for name in host.loaded])
    _init_templates(app, host)
    _register_routes(app, host)
    from kernel.accounts.guard import init_guard
    from kernel.accounts.limits import init_limits

    init_guard(app)
    init_limits(app)  # wraps the login, reset and registration views: after the routes
    with app.app_context():
        from kernel.admin.base import init_admin

        init_admin(app)
        host.pm.hook.register_commands(cli=app.cli)
    return app


def database_ready() -> bool:
    try:
        return inspect(db.session.connection()).has_table("kernel_state")
    except (OperationalError, ProgrammingError):
        db.session.rollback()
        return False


def _load_plugins(app: Flask):
    from kernel.plugins.discovery import discover
    from kernel.plugins.loader import PluginHost, load_plugins, new_plugin_manager

    if not database_ready():
        app.logger.warning("database not initialised yet (pteroca init or pteroca db upgrade "
                           "creates it); no plugins loaded")
        return PluginHost(pm=new_plugin_manager(), discovered=discover(app.config["PLUGINS_DIR"]))
    return load_plugins(app, plugins_dir=Path(app.config["PLUGINS_DIR"]),
                        safe_mode=app.config["SAFE_MODE"])


def _init_templates(app: Flask, host) -> None:
    from kernel import themes

    loaders: list[jinja2.BaseLoader] = []
    for name in host.loaded:
        folder = host.discovered[name].path / "templates"
        if folder.is_dir():
            loaders.append(jinja2.FileSystemLoader(str(folder)))
    loaders.append(jinja2.FileSystemLoader(str(KERNEL_TEMPLATES)))
    # Flask-Admin and blueprint templates come last, through Flask's own loader.
    loaders.append(app.jinja_env.loader)
    # The active theme, then the default theme, go first (kernel/themes.py).
    themes.install_loader(app, host.loaded, loaders)

    from kernel.web import shell

    @app.context_processor
    def _shell_context():
        from flask_login import current_user

        return {
            "client_menu": lambda: shell.client_menu_items(current_user),
            "admin_menu": lambda: shell.admin_menu_items(current_user),
            "slot": shell.render_slot,
            "extra_css": shell.extra_css_urls,
            "extra_js": shell.extra_js_urls,
        }


def _plugin_prefix(host, name: str) -> str:
    plugin = host.discovered[name]
    # Only builtin plugins (shipped in the pteroca distribution) may leave /plugins/<name>.
    if plugin.manifest.url_prefix and plugin.distribution == "pteroca":
        return plugin.manifest.url_prefix
    return f"/plugins/{name}"


def _register_routes(app: Flask, host) -> None:
    from kernel.plugins.loader import _fault
    from kernel.payments.money import format_amount
    from kernel.payments.views import bp as wallet_bp
    from kernel.payments.views import webhooks as webhooks_bp
    from kernel.web.views import bp as web_bp

    app.register_blueprint(web_bp)
    app.register_blueprint(wallet_bp)
    csrf.exempt(webhooks_bp)  # providers cannot send our token; every webhook verifies a signature
    app.register_blueprint(webhooks_bp)
    app.jinja_env.globals["money"] = format_amount
    for impl in host.pm.hook.register_blueprints.get_hookimpls():
        name = impl.plugin_name
        if name == "kernel":
            continue
        try:
            blueprints = impl.function(**{a: app for a in impl.argnames if a == "app"}) or []
            for blueprint in blueprints:
                if not isinstance(blueprint, Blueprint):
                    raise TypeError(f"{blueprint!r} is not a Flask Blueprint")
                prefix = _plugin_prefix(host, name)
                if blueprint.url_prefix:
                    prefix = prefix.rstrip("/") + "/" + blueprint.url_prefix.lstrip("/")
                app.register_blueprint(blueprint, url_prefix=prefix)
        except Exception as exc:  # noqa: BLE001
            with app.app_context():
                _fault(host, name, f"register_blueprints failed: {type(exc).__name__}: {exc}")

    @app.errorhandler(403)
    def _forbidden(exc):
        return render_template("errors/error.html", code=403,
                               message=_("You do not have permission to open this page.")), 403

    @app.errorhandler(404)
    def _not_found(exc):
        return render_template("errors/error.html", code=404,
                               message=_("This page does not exist.")), 404
