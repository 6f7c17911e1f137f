"""The customer's privacy pages: data export and its download, account deletion (thin views)."""

from __future__ import annotations

from flask import flash, make_response, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from kernel import clock, site_settings
from kernel.accounts.login_flow import authenticated_within
from kernel.accounts.services import AccountError
from kernel.privacy import erasure, export
from kernel.privacy.status import summary
from kernel.web.views import bp


@bp.post("/account/privacy/export")
@login_required
def privacy_export():
    try:
        export.request_export(current_user)
    except AccountError as exc:
        flash(str(exc), "warning")
        return redirect(url_for("web.account") + "#privacy")
    flash(
        _(
            "We are preparing your data. You will get an email with a download link, valid for "
            "%(hours)d hours.",
            hours=export.link_hours(),
        ),
        "success",
    )
    return redirect(url_for("web.account") + "#privacy")


@bp.get("/account/privacy/export/<token>")
@login_required
def privacy_export_download(token: str):
    try:
        path, found = export.open_download(token, current_user)
    except export.ExportError as exc:
        return render_template(
            "panel/message.html",
            title=_("This link does not work"),
            message=str(exc),
            link=url_for("web.account") + "#privacy",
            link_label=_("Back to your account"),
        ), exc.status
    site = (
        "".join(
            c for c in str(site_settings.get("site_name") or "pteroca") if c.isalnum() or c in "-_"
        )
        or "pteroca"
    )
    response = make_response(
        send_file(
            path,
            mimetype="application/zip",
            as_attachment=True,
            max_age=0,
            download_name=f"{site}-my-data-{found.ready_at or clock.now():%Y%m%d}.zip",
        )
    )
    response.headers["Cache-Control"] = "no-store"
    return response


def _delete_page(status: int = 200):
    return render_template(
        "panel/account_delete.html",
        email=current_user.email,
        has_password=current_user.has_password,
        has_2fa=current_user.has_2fa,
        fresh=authenticated_within(erasure.FRESH_LOGIN_SECONDS),
        grace_days=erasure.grace_days(),
        pending=summary(current_user)["deletion_due"],
    ), status


@bp.route("/account/delete", methods=["GET", "POST"])
@login_required
def account_delete():
    if request.method == "GET":
        return _delete_page()
    form = request.form
    try:
        found = erasure.request_erasure(
            current_user,
            confirm=form.get("confirm", ""),
            password=form.get("password", ""),
            code=form.get("code", ""),
            recently_authenticated=authenticated_within(erasure.FRESH_LOGIN_SECONDS),
        )
    except AccountError as exc:
        flash(str(exc), "error")
        return _delete_page(400)
    when = f"{found.due_at:%Y-%m-%d %H:%M} UTC"
    flash(
        _(
            "Your account will be deleted on %(date)s. Until then you can cancel on your "
            "account page.",
            date=when,
        ),
        "warning",
    )
    return redirect(url_for("web.account") + "#privacy")


@bp.post("/account/delete/cancel")
@login_required
def account_delete_cancel():
    if erasure.cancel(current_user, actor=current_user.email):
        flash(_("The deletion of your account was cancelled."), "success")
    else:
        flash(
            _("Your account is not scheduled for deletion (or its deletion already started)."),
            "warning",
        )
    return redirect(url_for("web.account") + "#privacy")
