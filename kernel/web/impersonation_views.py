"""The client area's side of impersonation: the banner on every page and the way back."""

from __future__ import annotations

from flask import flash, redirect, url_for
from flask_babel import gettext as _
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup

from kernel.accounts import impersonation
from kernel.accounts.services import AccountError
from kernel.web.views import bp


def banner() -> Markup | None:
    """The header slot's banner while staff impersonate this customer, else None."""
    found = impersonation.active()
    if found is None:
        return None
    return Markup(
        '<div class="pt-impersonating py-2" role="status" id="impersonation-banner">'
        '<div class="container d-flex flex-wrap align-items-center justify-content-between gap-2">'
        '<span><i class="bi bi-person-badge me-1" aria-hidden="true"></i>{}</span>'
        '<form method="post" action="{}"><input type="hidden" name="csrf_token" value="{}">'
        '<button class="btn btn-light btn-sm" type="submit">{}</button></form></div></div>'
    ).format(
        _(
            "%(staff)s is signed in as %(customer)s (support view).",
            staff=found.get("email", ""),
            customer=found.get("target", ""),
        ),
        url_for("web.impersonation_stop"),
        generate_csrf(),
        _("Back to my account"),
    )


@bp.post("/impersonation/stop")
def impersonation_stop():
    found = impersonation.active()
    try:
        staff = impersonation.stop()
    except AccountError as exc:
        flash(str(exc), "error")
        return redirect(url_for("web.dashboard"))
    if staff is None:
        return redirect(url_for("web.login"))
    return redirect(url_for("user_page.page", user_id=found["target_id"]))
