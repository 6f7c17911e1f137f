"""Admin › API tokens: tokens for service accounts (an account a program uses), every
token's last use, and revocation of any of them."""

from __future__ import annotations

from flask import flash, redirect, request, url_for
from flask_admin import expose
from flask_login import current_user
from sqlalchemy import func, select

from kernel.accounts.models import User
from kernel.admin.base import ProtectedBaseView
from kernel.extensions import db
from kernel.rest import tokens
from kernel.rest.models import SERVICE, ApiToken
from kernel.rest.scopes import SCOPES, ScopeError
from kernel.rest.token_pages import read_days


class ApiTokensView(ProtectedBaseView):
    permission = "admin.users"

    def __init__(self):
        super().__init__(
            name="API tokens",
            endpoint="api_tokens_admin",
            url="/admin/api-tokens",
            category="Users",
        )

    def _page(self, status: int = 200, secret: str = "", owner: str = ""):
        rows = list(db.session.scalars(select(ApiToken).order_by(ApiToken.id.desc()).limit(200)))
        return self.render(
            "admin/pteroca/api_tokens.html", tokens=rows, secret=secret, owner=owner, scopes=SCOPES
        ), status

    @expose("/")
    def index(self):
        return self._page()

    @expose("/", methods=["POST"])
    def create(self):
        email = request.form.get("email", "").strip().lower()
        user = db.session.scalar(select(User).where(func.lower(User.email) == email))
        if user is None:
            flash(
                f"No account has the address {email!r}; create the service account first "
                "(Users › Create).",
                "error",
            )
            return self._page(400)
        try:
            _token, secret = tokens.create(
                user,
                name=request.form.get("name", ""),
                scopes=request.form.getlist("scopes"),
                days=read_days(request.form.get("days", "")),
                kind=SERVICE,
                actor=current_user.email,
            )
        except (ScopeError, ValueError) as exc:
            db.session.rollback()
            flash(str(exc), "error")
            return self._page(400)
        return self._page(201, secret=secret, owner=user.email)

    @expose("/<int:token_id>/revoke", methods=["POST"])
    def revoke(self, token_id: int):
        token = db.session.get(ApiToken, token_id)
        if token is None:
            flash("No such token.", "error")
            return self._page(404)
        tokens.revoke(token, actor=current_user.email)
        flash(f"Token {token.prefix}… of {token.user.email} revoked.", "success")
        return redirect(url_for(".index"), 303)
