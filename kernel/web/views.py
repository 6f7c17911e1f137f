"""Thin views of the client-area shell."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import (Blueprint, abort, current_app, flash, jsonify, redirect, render_template,
                   request, send_from_directory, url_for)
from flask_login import current_user, login_required, login_user, logout_user

from kernel import audit
from kernel.accounts.services import AccountError, authenticate
from kernel.web import shell

bp = Blueprint("web", __name__)


@bp.get("/")
def landing():
    if current_user.is_authenticated:
        return redirect(url_for("web.dashboard"))
    return render_template("landing/index.html")


@bp.get("/dashboard")
@login_required
def dashboard():
    return render_template("panel/dashboard.html", widgets=shell.dashboard_widgets(current_user))


def _safe_next(target: str | None) -> str:
    if target and not urlsplit(target).netloc and target.startswith("/") and not target.startswith("//"):
        return target
    return url_for("web.dashboard")


@bp.route("/login", methods=["GET", "POST"])
def login():
    if request.method == "GET":
        return render_template("panel/login.html")
    try:
        user = authenticate(request.form.get("email", ""), request.form.get("password", ""))
    except AccountError as exc:
        flash(str(exc), "error")
        return render_template("panel/login.html", email=request.form.get("email", "")), 400
    login_user(user, remember=bool(request.form.get("remember")))
    audit.record("user.login", user.email, actor=user.email)
    current_app.extensions["pteroca"].pm.hook.user_logged_in(user=user)
    return redirect(_safe_next(request.args.get("next")))


@bp.post("/logout")
def logout():
    logout_user()
    return redirect(url_for("web.login"))


@bp.get("/-/health")
def health():
    report = shell.health_report()
    return jsonify(report), 200 if report["status"] == "ok" else 503


@bp.get("/-/plugin-static/<name>/<path:filename>")
def plugin_static(name: str, filename: str):
    host = current_app.extensions["pteroca"]
    if name not in host.loaded:
        abort(404)
    return send_from_directory(host.discovered[name].path / "static", filename, max_age=3600)


@bp.get("/favicon.ico")
def favicon():
    return send_from_directory(current_app.config["THEME_STATIC"], "favicon.svg",
                               mimetype="image/svg+xml", max_age=86400)


@bp.get("/-/theme/<path:filename>")
def theme_static(filename: str):
    return send_from_directory(current_app.config["THEME_STATIC"], filename, max_age=3600)
