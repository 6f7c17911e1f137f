"""The account page's API tokens: make one (its secret shown once), list them, revoke one."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from kernel.extensions import db
from kernel.rest import tokens
from kernel.rest.models import ApiToken
from kernel.rest.scopes import SCOPES, ScopeError, grantable

bp = Blueprint("api_tokens", __name__)


def _page(status: int = 200, secret: str = ""):
    scopes = [(name, SCOPES[name][0]) for name in grantable(current_user)]
    return render_template(
        "panel/account_tokens.html",
        tokens=tokens.tokens_of(current_user.id),
        scopes=scopes,
        secret=secret,
    ), status


def read_days(text: str) -> int | None:
    """Days from the form's expiry choice ('' is never); ValueError with a message."""
    text = (text or "").strip()
    if not text:
        return None
    if not text.isdigit():
        raise ValueError(_("Choose when the token expires."))
    return int(text)


@bp.get("/account/api-tokens")
@login_required
def index():
    return _page()


@bp.post("/account/api-tokens")
@login_required
def create():
    try:
        _token, secret = tokens.create(
            current_user,
            name=request.form.get("name", ""),
            scopes=request.form.getlist("scopes"),
            days=read_days(request.form.get("days", "")),
        )
    except (ScopeError, ValueError) as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return _page(400)
    return _page(201, secret)


@bp.post("/account/api-tokens/<int:token_id>/revoke")
@login_required
def revoke(token_id: int):
    token = db.session.get(ApiToken, token_id)
    if token is None or token.user_id != current_user.id:
        abort(404)
    tokens.revoke(token, actor=current_user.email)
    flash(
        _("The token %(name)s was revoked; it stopped working at once.", name=token.name), "success"
    )
    return redirect(url_for("api_tokens.index"), 303)
