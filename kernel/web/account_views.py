"""The account pages under /account: profile, language, password, email, two-factor auth."""

from __future__ import annotations

from flask import current_app, flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user

from kernel import site_settings
from kernel.accounts import links, twofactor
from kernel.accounts.models import LANGUAGES
from kernel.accounts.services import AccountError, change_password, requires_2fa, update_profile
from kernel.privacy import status as privacy_status
from kernel.web.views import bp


def _account_page(status: int = 200, **extra):
    context = {
        "languages": LANGUAGES,
        "min_length": site_settings.get("min_password_length"),
        "verification": links.verification_mode(),
        "recovery_left": twofactor.unused_recovery_codes(current_user)
        if current_user.has_2fa
        else 0,
        "privacy": privacy_status.summary(current_user),
    }
    context.update(extra)
    return render_template("panel/account.html", **context), status


def _refused(exc: AccountError, page=_account_page):
    flash(str(exc), "error")
    return page(400)


@bp.get("/account")
@login_required
def account():
    return _account_page()


@bp.post("/account/profile")
@login_required
def account_profile():
    try:
        update_profile(
            current_user,
            name=request.form.get("name", ""),
            language=request.form.get("language", ""),
        )
    except AccountError as exc:
        return _refused(exc)
    flash(_("Your profile was saved."), "success")
    return redirect(url_for("web.account"))


@bp.post("/account/password")
@login_required
def account_password():
    new = request.form.get("new_password", "")
    if new != request.form.get("confirm", new):
        return _refused(AccountError(_("The two new passwords differ.")))
    try:
        change_password(current_user, request.form.get("current_password", ""), new)
    except AccountError as exc:
        return _refused(exc)
    # The token version moved, which ends every other session; keep this one.
    remembered = current_app.config.get("REMEMBER_COOKIE_NAME", "remember_token") in request.cookies
    login_user(current_user._get_current_object(), remember=remembered)
    flash(_("Your password was changed. Other sessions were logged out."), "success")
    return redirect(url_for("web.account"))


@bp.post("/account/email")
@login_required
def account_email():
    try:
        links.request_email_change(
            current_user, request.form.get("email", ""), request.form.get("password", "")
        )
    except AccountError as exc:
        return _refused(exc)
    flash(
        _(
            "We sent a confirmation link to %(email)s. Your address changes once you open it.",
            email=current_user.pending_email,
        ),
        "success",
    )
    return redirect(url_for("web.account"))


@bp.post("/account/email/cancel")
@login_required
def account_email_cancel():
    links.cancel_email_change(current_user)
    flash(_("The email change was cancelled."), "success")
    return redirect(url_for("web.account"))


def _2fa_page(status: int = 200, **extra):
    context = {"enforced": requires_2fa(current_user)}
    if not current_user.has_2fa:
        secret = twofactor.begin_setup(current_user)
        uri = twofactor.provisioning_uri(current_user, secret)
        context.update(secret=secret, qr=twofactor.qr_data_uri(uri))
    else:
        context["recovery_left"] = twofactor.unused_recovery_codes(current_user)
    context.update(extra)
    return render_template("panel/account_2fa.html", **context), status


@bp.route("/account/2fa", methods=["GET", "POST"])
@login_required
def account_2fa():
    if request.method == "GET":
        return _2fa_page()
    try:
        codes = twofactor.confirm_setup(current_user, request.form.get("code", ""))
    except AccountError as exc:
        return _refused(exc, _2fa_page)
    flash(_("Two-factor authentication is on."), "success")
    return _show_codes(codes)


@bp.post("/account/2fa/disable")
@login_required
def account_2fa_disable():
    try:
        twofactor.disable(current_user, request.form.get("password", ""))
    except AccountError as exc:
        return _refused(exc, _2fa_page)
    flash(_("Two-factor authentication is off."), "success")
    return redirect(url_for("web.account"))


@bp.post("/account/2fa/recovery-codes")
@login_required
def account_2fa_recovery():
    try:
        codes = twofactor.regenerate_recovery_codes(current_user, request.form.get("password", ""))
    except AccountError as exc:
        return _refused(exc, _2fa_page)
    return _show_codes(codes)


def _show_codes(codes: list[str]):
    """The one page that ever shows recovery codes; browsers must not keep a copy."""
    response = make_response(render_template("panel/recovery_codes.html", codes=codes))
    response.headers["Cache-Control"] = "no-store"
    return response
