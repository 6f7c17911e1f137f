"""The application factory: configuration, extensions, plugin loading, templates, routes."""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable
from pathlib import Path

import jinja2
import pteroca_themes
from flask import Blueprint, Flask, Response, g, make_response
from flask.globals import request_ctx
from flask_babel import Babel
from flask_login import LoginManager
from flask_wtf.csrf import CSRFProtect
from werkzeug.exceptions import HTTPException

from kernel import defaults
from kernel.accounts.models import Anonymous
from kernel.config import load_config
from kernel.extensions import database_ready, db
from kernel.hooks import answers, report_failure

KERNEL_TEMPLATES = Path(__file__).resolve().parent / "templates"
KERNEL_TRANSLATIONS = Path(__file__).resolve().parent / "translations"  # docs/i18n.md
DEFAULT_THEME = Path(pteroca_themes.__file__).resolve().parent / "default"

csrf = CSRFProtect()
login_manager = LoginManager()
login_manager.login_view = "web.login"
login_manager.anonymous_user = Anonymous
babel = Babel()


@login_manager.user_loader
def _load_user(user_id: str):
    from kernel.accounts.sessions import load

    return load(user_id)


class PterocaFlask(Flask):
    """Flask with two kernel additions.

    * A request to a :func:`kernel.extensions.read_only` view runs again, from a clean
      state, under ``BEGIN IMMEDIATE`` when SQLite refused a write of its deferred
      transaction (kernel/extensions.py explains when that happens).
    * An app built with ``create_app(lazy_routes=True)`` (commands that serve no
      requests) adds its routes, admin views and request guards on first use of a URL.
    """

    _pending_build: Callable[[], None] | None = None

    def full_dispatch_request(self):
        from kernel.extensions import (
            committed,
            db,
            request_reads_only,
            retry_with_write_lock,
            write_refused,
        )

        if not request_reads_only():
            return super().full_dispatch_request()
        ctx = request_ctx._get_current_object()
        saved = _RequestState.take(ctx)
        try:
            response = super().full_dispatch_request()
        except Exception:
            if not write_refused() or committed():
                raise
            response = None
        if not write_refused():
            return response
        if committed():  # the view caught the refusal and committed other work after it
            self.logger.warning(
                "%s %s: a write was refused and the view went on; not run "
                "again, as that would repeat what it committed",
                ctx.request.method,
                ctx.request.path,
            )
            return response
        # SQLite refused a write before anything was committed. Forget this run
        # (session cookie, g, after-request callbacks) and run the request again
        # holding the write lock from the start.
        db.session.rollback()
        saved.restore(ctx)
        retry_with_write_lock()
        self.logger.info(
            "%s %s wrote in a read-only transaction and was refused; running it "
            "again under BEGIN IMMEDIATE",
            ctx.request.method,
            ctx.request.path,
        )
        return super().full_dispatch_request()

    def create_url_adapter(self, request):
        if request is not None and self._pending_build is not None:
            self.finish_build()  # a request (served or a test client's): routes needed now
        return super().create_url_adapter(request)

    def url_for(self, *args, **kwargs) -> str:
        if self._pending_build is not None:
            self.finish_build()
        return super().url_for(*args, **kwargs)

    def finish_build(self) -> None:
        """Add what ``lazy_routes`` left out (routes, guards, admin); no-op when done."""
        build, self._pending_build = self._pending_build, None
        if build is not None:
            build()


class _RequestState:
    """What a request run may change besides the database, to undo a refused run."""

    def __init__(self, session, session_flags, g_values, after_request):
        self.session, self.session_flags = session, session_flags
        self.g_values, self.after_request = g_values, after_request

    @classmethod
    def take(cls, ctx) -> _RequestState:
        session = ctx.session
        flags = {k: getattr(session, k) for k in ("modified", "accessed") if hasattr(session, k)}
        return cls(
            copy.deepcopy(dict.copy(session)),
            flags,
            dict(vars(g._get_current_object())),
            list(ctx._after_request_functions),
        )

    def restore(self, ctx) -> None:
        session = ctx.session
        dict.clear(session)
        dict.update(session, self.session)
        for key, value in self.session_flags.items():
            setattr(session, key, value)
        values = vars(g._get_current_object())
        values.clear()
        values.update(self.g_values)
        ctx._after_request_functions[:] = self.after_request


def _import_models() -> None:
    """Register every kernel table with the metadata (the migrations mirror them)."""
    import kernel.accounts.limit_storage  # noqa: F401
    import kernel.accounts.models  # noqa: F401
    import kernel.cron  # noqa: F401
    import kernel.mail  # noqa: F401
    import kernel.models  # noqa: F401
    import kernel.outbox  # noqa: F401
    import kernel.payments.models  # noqa: F401
    import kernel.plugins.health  # noqa: F401
    import kernel.plugins.models  # noqa: F401
    import kernel.privacy.models  # noqa: F401
    import kernel.rest.models  # noqa: F401
    import kernel.security  # noqa: F401
    import kernel.site_settings  # noqa: F401
    import kernel.webhooks.models  # noqa: F401


def create_app(config: dict | None = None, *, lazy_routes: bool = False) -> Flask:
    """Build the app. ``lazy_routes``: for commands that serve no requests (``pteroca
    plugin ...``); routes, admin views and request guards are added on the first use of
    a URL (``url_for``, a test client), which is most of a build's time otherwise."""
    cfg = load_config(config)
    app = PterocaFlask("kernel", instance_path=cfg["INSTANCE_PATH"], instance_relative_config=False)
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    app.config.update(cfg)
    app.config.setdefault("SQLALCHEMY_DATABASE_URI", cfg["DATABASE_URL"])
    # A server can drop idle connections; a SQLite file cannot, so it skips the ping per checkout.
    sqlite = str(app.config["SQLALCHEMY_DATABASE_URI"]).startswith("sqlite")
    app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {"pool_pre_ping": not sqlite})
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
    from kernel.web.request_gate import init_request_gate

    init_request_gate(app)  # before any route: it bounds <int:...> converters

    from kernel.plugins import health
    from kernel.plugins.host import HOST_KEY

    with app.app_context():
        host = _load_plugins(app)
        defaults.register(host.pm)  # the kernel's own implementations, trylast
        health.init_app(app)
    app.extensions[HOST_KEY] = host
    from kernel.catalogs import init_i18n

    init_i18n(app, [host.discovered[name].path for name in host.loaded])
    _init_templates(app, host)
    if lazy_routes:
        app._pending_build = lambda: _build_web(app, host)
    else:
        _build_web(app, host)
    from kernel.hooks import call_hook

    with app.app_context():
        call_hook("register_commands", cli=app.cli)
    return app


def _build_web(app: Flask, host) -> None:
    """Routes, request guards and admin views: what serving requests needs."""
    _register_routes(app, host)
    from kernel.accounts.guard import init_guard
    from kernel.accounts.limits import init_limits

    init_guard(app)
    init_limits(app)  # wraps the login, reset and registration views: after the routes
    with app.app_context():
        from kernel.admin.area import init_admin

        init_admin(app)
    from kernel.rest import init_rest

    init_rest(app, host)  # last: it wraps the error handlers registered above


# Command groups whose commands never serve a request: their app is built with lazy_routes.
OFFLINE_COMMAND_GROUPS = frozenset({"plugin"})


# Commands that create the database themselves: an empty one is what they expect to find.
DATABASE_CREATING_COMMANDS = frozenset({"init", "demo", "db"})


def _cli_command_names() -> list[str]:
    """The running ``pteroca`` command's names, outermost first: ["pteroca", "plugin", "enable"]."""
    import click

    names = []
    ctx = click.get_current_context(silent=True)
    while ctx is not None:
        names.append(ctx.info_name)
        ctx = ctx.parent
    names.reverse()
    return names


def create_cli_app() -> Flask:
    """The app for the running ``pteroca`` command (Flask's CLI calls this on first need)."""
    names = _cli_command_names()
    return create_app(lazy_routes=len(names) > 1 and names[1] in OFFLINE_COMMAND_GROUPS)


def _load_plugins(app: Flask):
    from kernel.plugin_lifecycle.loader import load_plugins, new_plugin_manager
    from kernel.plugins.discovery import discover
    from kernel.plugins.host import PluginHost

    if not database_ready():
        from kernel.plugins import verified

        names = _cli_command_names()
        # `pteroca init`/`demo`/`db upgrade` are about to create it: a normal first start, not
        # a problem worth a warning line (a first-time user reads one as a failure).
        creating = len(names) > 1 and names[1] in DATABASE_CREATING_COMMANDS
        app.logger.log(
            logging.INFO if creating else logging.WARNING,
            "database not initialised yet (pteroca init or pteroca db upgrade "
            "creates it); no plugins loaded",
        )
        host = PluginHost(pm=new_plugin_manager(), discovered=discover(app.config["PLUGINS_DIR"]))
        verified.retain(set())
        return host
    return load_plugins(
        app, plugins_dir=Path(app.config["PLUGINS_DIR"]), safe_mode=app.config["SAFE_MODE"]
    )


def _init_templates(app: Flask, host) -> None:
    from kernel import themes
    from kernel.plugins.verified import admission_of
    from kernel.plugins.verified_data import VerifiedTemplateLoader

    loaders: list[jinja2.BaseLoader] = []
    for name in host.loaded:  # plugin templates: only the bytes their verdict recorded
        admission = admission_of(host.discovered[name].module)
        if admission is not None and (admission.root / "templates").is_dir():
            loaders.append(VerifiedTemplateLoader(admission, "templates"))
    loaders.append(jinja2.FileSystemLoader(str(KERNEL_TEMPLATES)))
    # Flask-Admin and blueprint templates come last, through Flask's own loader.
    loaders.append(app.jinja_env.loader)
    # The active theme, then the default theme, go first (kernel/themes.py).
    themes.install_loader(app, host.loaded, loaders)

    from kernel.payments.money import format_amount
    from kernel.web import shell

    # Template helpers are globals: the theme sandbox lets templates call the app's
    # globals and nothing else it was not told about (kernel/theme_sandbox.py).
    app.jinja_env.globals.update(
        client_menu=shell.client_menu,
        admin_menu=shell.admin_menu,
        slot=shell.render_slot,
        extra_css=shell.extra_css_urls,
        extra_js=shell.extra_js_urls,
        money=format_amount,
    )


def _plugin_prefix(host, name: str) -> str:
    plugin = host.discovered[name]
    # Only builtin plugins (shipped in the pteroca distribution) may leave /plugins/<name>.
    if plugin.manifest.url_prefix and plugin.distribution == "pteroca":
        return plugin.manifest.url_prefix
    return f"/plugins/{name}"


# The HTTP errors whose page the ``error_page`` hook renders (the kernel's is the fallback).
ERROR_PAGES = (403, 404)


def _error_page(error: HTTPException) -> Response | HTTPException:
    """The first usable ``error_page`` answer, with the error's status whatever it says.

    An answer that is not HTML (a string) or a response counts as the plugin's failure and the
    next implementation is asked; the kernel's own (``kernel.defaults.error_pages``) comes last.
    """
    for plugin, answer, failed in answers("error_page", code=error.code, error=error):
        if failed is not None or answer is None:
            continue
        if not isinstance(answer, str | Response):
            report_failure(
                plugin,
                "error_page",
                TypeError(f"error_page returned {type(answer).__name__}, not HTML or a response"),
            )
            continue
        response = make_response(answer)
        response.status_code = error.code
        return response
    return error  # Flask's plain page: nothing answered (no app context of a build, say)


def _register_routes(app: Flask, host) -> None:
    from kernel.plugin_lifecycle.loader import fault_plugin
    from kernel.plugins.verified_data import protect_blueprint
    from kernel.web.views import bp as web_bp
    from kernel.web.wallet_views import bp as wallet_bp
    from kernel.web.wallet_views import webhooks as webhooks_bp

    app.register_blueprint(web_bp)
    app.register_blueprint(wallet_bp)
    csrf.exempt(webhooks_bp)  # providers cannot send our token; every webhook verifies a signature
    app.register_blueprint(webhooks_bp)
    from kernel.hooks import is_kernel

    with app.app_context():  # a plugin whose pages cannot be mounted is faulted
        for name, blueprints, error in answers("register_blueprints", app=app):
            if is_kernel(name):
                continue
            if error is not None:
                fault_plugin(
                    host, name, f"register_blueprints failed: {type(error).__name__}: {error}"
                )
                continue
            try:
                for blueprint in blueprints or []:
                    if not isinstance(blueprint, Blueprint):
                        raise TypeError(f"{blueprint!r} is not a Flask Blueprint")
                    prefix = _plugin_prefix(host, name)
                    if blueprint.url_prefix:
                        prefix = prefix.rstrip("/") + "/" + blueprint.url_prefix.lstrip("/")
                    app.register_blueprint(blueprint, url_prefix=prefix)
                    protect_blueprint(app, blueprint, host.discovered[name].module)
            except Exception as exc:  # noqa: BLE001
                fault_plugin(host, name, f"register_blueprints failed: {type(exc).__name__}: {exc}")

    for code in ERROR_PAGES:
        app.register_error_handler(code, _error_page)
