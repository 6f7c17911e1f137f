"""Registration, password reset and the emailed-link pages (thin: the logic is in accounts)."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from kernel import site_settings
from kernel.accounts import links
from kernel.accounts.login_flow import finish_login
from kernel.accounts.services import AccountError
from kernel.accounts.signup import register as register_user
from kernel.accounts.tokens import TokenError
from kernel.web.views import bp


def link_problem(message: str):
    """The page for a bad emailed link: a clear message and a 400."""
    return render_template(
        "panel/message.html",
        title=_("This link does not work"),
        message=message,
        link=url_for("web.landing"),
        link_label=_("Back to the start page"),
    ), 400


@bp.route("/register", methods=["GET", "POST"])
def register():
    if current_user.is_authenticated:
        return redirect(url_for("web.dashboard"))
    context = {
        "min_length": site_settings.get("min_password_length"),
        "terms_url": site_settings.get("terms_url"),
    }
    if not site_settings.get("registration_enabled"):
        return render_template(
            "panel/message.html",
            title=_("Registration is closed"),
            message=_("New accounts cannot be created on this site right now."),
            link=url_for("web.login"),
            link_label=_("Log in"),
        ), 403
    if request.method == "GET":
        return render_template("panel/register.html", form={}, **context)
    form = request.form
    try:
        user = register_user(
            form.get("email", ""),
            form.get("password", ""),
            name=form.get("name", ""),
            accepted_terms=bool(form.get("terms")),
        )
    except AccountError as exc:
        flash(str(exc), "error")
        return render_template("panel/register.html", form=form, **context), 400
    finish_login(user, method="registration")
    if links.verification_mode() != "disabled":
        flash(_("Welcome! We sent a confirmation link to %(email)s.", email=user.email), "success")
    else:
        flash(_("Welcome!"), "success")
    return redirect(url_for("web.dashboard"))


@bp.route("/forgot-password", methods=["GET", "POST"])
def forgot_password():
    if request.method == "GET":
        return render_template("panel/forgot_password.html")
    links.request_password_reset(request.form.get("email", ""))
    # The same answer whether or not the account exists: no address harvesting.
    return render_template(
        "panel/message.html",
        title=_("Check your inbox"),
        message=_(
            "If an account exists for that address, we sent it a link to choose a new password. "
            "The link works once, within an hour."
        ),
        link=url_for("web.login"),
        link_label=_("Back to log in"),
    )


@bp.route("/reset-password/<token>", methods=["GET", "POST"])
def reset_password(token: str):
    try:
        user = links.check_reset_token(token)
    except TokenError as exc:
        return link_problem(str(exc))
    context = {"email": user.email, "min_length": site_settings.get("min_password_length")}
    if request.method == "GET":
        return render_template("panel/reset_password.html", **context)
    password = request.form.get("password", "")
    if password != request.form.get("confirm", password):
        flash(_("The two passwords differ."), "error")
        return render_template("panel/reset_password.html", **context), 400
    try:
        links.reset_password(token, password)
    except TokenError as exc:
        return link_problem(str(exc))
    except AccountError as exc:
        flash(str(exc), "error")
        return render_template("panel/reset_password.html", **context), 400
    flash(_("Your password was changed. Log in with the new one."), "success")
    return redirect(url_for("web.login"))


@bp.get("/verify-email/<token>")
def verify_email(token: str):
    try:
        links.verify_email(token)
    except TokenError as exc:
        return link_problem(str(exc))
    flash(_("Thank you: your email address is confirmed."), "success")
    return redirect(url_for("web.dashboard" if current_user.is_authenticated else "web.login"))


@bp.post("/account/verify/resend")
@login_required
def resend_verification():
    if current_user.is_verified:
        flash(_("Your email address is already confirmed."), "success")
    elif links.verification_mode() == "disabled":
        flash(_("Email verification is not used on this site."), "warning")
    else:
        links.send_verification(current_user)
        flash(
            _("We sent a new confirmation link to %(email)s.", email=current_user.email), "success"
        )
    return redirect(request.referrer if _same_site(request.referrer) else url_for("web.dashboard"))


@bp.get("/account/email/confirm/<token>")
def confirm_email_change(token: str):
    try:
        user = links.confirm_email_change(token)
    except TokenError as exc:
        return link_problem(str(exc))
    flash(_("Your email address is now %(email)s.", email=user.email), "success")
    return redirect(url_for("web.account" if current_user.is_authenticated else "web.login"))


def _same_site(url: str | None) -> bool:
    from urllib.parse import urlsplit

    return bool(url) and urlsplit(url).netloc == request.host
