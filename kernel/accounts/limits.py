"""Rate limits (Flask-Limiter) on login, the second factor, password reset and registration.

Each app gets its own limiter: the hot swap builds new apps, and tests build many. The
counters must outlive an app, or every plugin or theme change would reset them: they live
in Redis when ``PTEROCA_REDIS_URL`` is set, in the database otherwise
(``kernel/accounts/limit_storage.py``); both are shared by every web process. The limits
are config keys, so deployments and tests can change them.
"""

from __future__ import annotations

from flask import Flask, render_template, request
from flask_babel import gettext as _
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

from kernel.accounts import limit_storage  # registers the pteroca+db:// storage

# config key -> (default, endpoints it guards). Only POST requests count.
LIMITS = {
    "RATELIMIT_LOGIN": ("10 per minute;100 per hour", ("web.login", "web.login_2fa")),
    "RATELIMIT_RESET": ("5 per minute;30 per hour", ("web.forgot_password",)),
    "RATELIMIT_REGISTER": ("5 per minute;30 per hour", ("web.register",)),
}


# Flask-Limiter's settings that would put limits on requests of every method and endpoint.
WHOLE_APP_LIMITS = ("RATELIMIT_DEFAULT", "RATELIMIT_APPLICATION", "RATELIMIT_META")


def _not_a_post() -> bool:
    return request.method != "POST"


def init_limits(app: Flask) -> Limiter:
    storage = (
        app.config.get("RATELIMIT_STORAGE_URI")
        or app.config.get("REDIS_URL")
        or f"{limit_storage.SCHEME}://"
    )
    # A storage outage must not lock everybody out: fall back to memory and log it.
    app.config.setdefault("RATELIMIT_SWALLOW_ERRORS", True)
    # A Redis that hangs (not refusing, just silent) must not hang logins: short socket timeouts.
    options = (
        {"socket_connect_timeout": 1, "socket_timeout": 1}
        if storage.startswith(("redis://", "rediss://"))
        else {}
    )
    limiter = Limiter(
        get_remote_address,
        storage_uri=storage,
        default_limits=[],
        key_prefix="pteroca",
        strategy="fixed-window",
        storage_options=options,
        in_memory_fallback_enabled=storage != "memory://",
    )
    limiter.init_app(app)
    if not any(app.config.get(key) for key in WHOLE_APP_LIMITS):
        # Every limit of the app is a POST limit of one view, so any other request has none to
        # look up: skip Flask-Limiter's per-request resolution of limits (a GET of any page).
        limiter.request_filter(_not_a_post)
    for key, (default, endpoints) in LIMITS.items():
        limit = app.config.setdefault(key, default)
        for endpoint in endpoints:
            view = app.view_functions.get(endpoint)
            if view is not None:
                app.view_functions[endpoint] = limiter.limit(limit, methods=["POST"])(view)
    app.extensions["pteroca_limiter"] = limiter

    @app.errorhandler(429)
    def _too_many(exc):
        return render_template(
            "errors/error.html",
            code=429,
            message=_("Too many attempts. Wait a minute and try again."),
        ), 429

    return limiter
