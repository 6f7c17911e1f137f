"""Thin views of the client-area shell."""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required

from kernel import audit, clock, site_settings
from kernel.accounts import sessions, twofactor
from kernel.accounts.login_flow import PENDING_2FA, complete_login, finish_login, safe_next
from kernel.accounts.services import AccountError, check_credentials
from kernel.extensions import read_only
from kernel.plugins.host import plugin_host
from kernel.web import shell

bp = Blueprint("web", __name__)


@bp.get("/")
def landing():
    if current_user.is_authenticated:
        return redirect(url_for("web.dashboard"))
    if not site_settings.get("landing_enabled"):
        return redirect(url_for("web.login"))
    return render_template(
        "landing/index.html", registration_open=bool(site_settings.get("registration_enabled"))
    )


@bp.get("/dashboard")
@read_only  # reads in parallel on SQLite (kernel/extensions.py)
@login_required
def dashboard():
    # the user itself, not Flask-Login's proxy: each widget reads several of its attributes
    user = current_user._get_current_object()
    return render_template("panel/dashboard.html", widgets=shell.dashboard_widgets(user))


def _login_page(status: int = 200, **context):
    context.setdefault("registration_open", site_settings.get("registration_enabled"))
    return render_template("panel/login.html", **context), status


PENDING_2FA_SECONDS = 300


@bp.route("/login", methods=["GET", "POST"])
def login():
    if request.method == "GET":
        if current_user.is_authenticated:
            return redirect(url_for("web.dashboard"))
        return _login_page()
    email = request.form.get("email", "")
    try:
        user = check_credentials(email, request.form.get("password", ""))
        # the rules every login method shares: blocked, veto_login, the second factor
        return complete_login(
            user,
            method="password",
            remember=bool(request.form.get("remember")),
            next_url=request.args.get("next"),
        )
    except AccountError as exc:
        flash(str(exc), "error")
        return _login_page(400, email=email)


def _pending_2fa_user():
    from kernel.accounts.models import User
    from kernel.extensions import db

    pending = session.get(PENDING_2FA)
    if not pending or clock.now().timestamp() - pending.get("at", 0) > PENDING_2FA_SECONDS:
        return None, None
    user = db.session.get(User, pending.get("uid"))
    if user is None or (user.token_version or 0) != pending.get("v") or not user.is_active:
        return None, None
    return user, pending


@bp.route("/login/2fa", methods=["GET", "POST"])
def login_2fa():
    user, pending = _pending_2fa_user()
    if user is None:
        session.pop(PENDING_2FA, None)
        flash(_("Log in again: the sign-in step timed out."), "warning")
        return redirect(url_for("web.login"))
    if request.method == "GET":
        return render_template("panel/login_2fa.html")
    try:
        method = twofactor.check_second_factor(user, request.form.get("code", ""))
    except AccountError as exc:
        flash(str(exc), "error")
        return render_template("panel/login_2fa.html"), 400
    first = str(pending.get("method") or "password")
    finish_login(
        user,
        method=method if first == "password" else f"{first}+{method}",
        remember=bool(pending.get("remember")),
    )
    if method == "recovery":
        left = twofactor.unused_recovery_codes(user)
        flash(
            _(
                "You used a recovery code; %(n)d left. Create new ones on the account page "
                "when you run low.",
                n=left,
            ),
            "warning",
        )
    return redirect(safe_next(pending.get("next")))


@bp.post("/logout")
def logout():
    if current_user.is_authenticated:
        audit.record("user.logout", current_user.email)
    sessions.log_out()  # ends this login session on the server: a copied cookie stops working
    flash(_("You are logged out."), "success")
    return redirect(url_for("web.login"))


@bp.get("/-/health")
def health():
    from kernel import health as checks

    # Everything (database, Redis, scheduler, jobs, plugins) for the token or an admin;
    # up or down for anyone else.
    report = checks.report() if checks.may_see_details() else checks.summary()
    response = jsonify(report)
    response.headers["Cache-Control"] = "no-store"
    return response, 200 if report["status"] == "ok" else 503


@bp.get("/-/plugin-static/<name>/<path:filename>")
def plugin_static(name: str, filename: str):
    from kernel.plugins.verified import admission_of
    from kernel.plugins.verified_data import send_verified

    host = plugin_host()
    admission = admission_of(host.discovered[name].module) if name in host.loaded else None
    if admission is None:
        abort(404)
    return send_verified(admission, "static", filename, max_age=3600)  # verified bytes only


@bp.get("/favicon.ico")
def favicon():
    from kernel import themes

    return themes.send_static("favicon.svg")


@bp.get("/-/theme/<path:filename>")
def theme_static(filename: str):
    from kernel import themes

    return themes.send_static(filename)  # active theme, then default; versioned URLs cache long


# The account pages attach their routes to ``bp``.
from kernel.web import (  # noqa: E402, F401
    account_views,
    auth_views,
    impersonation_views,
    privacy_views,
)
