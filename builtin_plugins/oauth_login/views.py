"""oauth_login's pages under /oauth: start a flow, the provider's callback, confirm a sign-up,
unlink. Thin: the rules live in flows.py and identities.py; the login itself is the kernel's
(``complete_login``: blocked accounts, ``veto_login`` and the second factor apply)."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required

from kernel import AccountError, complete_login, record_audit, site_setting

from . import flows, identities
from .client import ProviderFailure
from .providers import allow_signup, configured, label

bp = Blueprint("oauth_login", __name__)
SIGNUP_KEY = "oauth_login_signup"


def _provider(key: str):
    provider = configured().get(key)
    if provider is None:
        abort(404)
    return provider


def _problem(message: str, status: int = 400, *, link: str | None = None, label: str = ""):
    return render_template(
        "panel/message.html",
        title="Sign-in did not work",
        message=message,
        link=link or url_for("web.login"),
        link_label=label or "Back to log in",
    ), status


@bp.post("/<provider>/start")
def start(provider: str):
    found = _provider(provider)
    purpose = request.form.get("purpose", "login")
    if purpose not in flows.PURPOSES:
        return _problem("Unknown sign-in request.", 400)
    if purpose == "link" and not current_user.is_authenticated:
        return redirect(url_for("web.login"))
    try:
        target = flows.begin(
            found,
            purpose=purpose,
            user_id=current_user.id if current_user.is_authenticated else None,
            next_url=request.form.get("next", ""),
        )
    except ProviderFailure as exc:
        return _problem(str(exc), 502)
    return redirect(target)


@bp.get("/<provider>/callback")
def callback(provider: str):
    found = _provider(provider)
    if request.args.get("error"):
        reason = request.args.get("error_description") or request.args.get("error")
        return _problem(f"{found.label} did not sign you in ({reason[:200]}).", 400)
    try:
        flow, who = flows.finish(
            found, state=request.args.get("state", ""), code=request.args.get("code", "")
        )
    except ProviderFailure as exc:
        record_audit("oauth_login.refused", provider, {"reason": str(exc)[:200]})
        return _problem(str(exc), 400)
    if flow.purpose == "link":
        return _link(flow, who)
    return _login(flow, who)


def _link(flow, who):
    account = url_for("web.account") + "#sign-in-methods"
    if not current_user.is_authenticated or current_user.id != flow.user_id:
        return _problem("Log in to the account you want to link first.", 403)
    try:
        identities.link(current_user._get_current_object(), who)
    except AccountError as exc:
        return _problem(str(exc), 409, link=account, label="Back to your account")
    flash(f"{label(who.provider)} is linked: you can log in with it.", "success")
    return redirect(account)


def _login(flow, who):
    method = f"oauth:{who.provider}"
    linked = identities.find(who.provider, who.subject)
    if linked is not None:
        user = identities.owner(linked)
        try:
            response = complete_login(user, method=method, next_url=flow.next_url)
        except AccountError as exc:
            return _problem(str(exc), 403)
        identities.note_login(linked, who)
        return response
    name = label(who.provider)
    if current_user.is_authenticated:
        return _problem(
            f"This {name} account is not linked to any account here. Link it on your account page.",
            409,
            link=url_for("web.account"),
            label="Back to your account",
        )
    if not (allow_signup() and site_setting("registration_enabled")):
        return _problem(
            f"No account here is linked to this {name} account. Log in with your "
            f"password and link {name} on your account page.",
            403,
        )
    try:
        identities.check_signup(who)
    except AccountError as exc:
        return _problem(str(exc), 409)
    flows.hold_for_signup(flow, who)
    session[SIGNUP_KEY] = flow.state
    return redirect(url_for("oauth_login.signup"))


@bp.route("/signup", methods=["GET", "POST"])
def signup():
    held = flows.pending_signup(session.get(SIGNUP_KEY, ""))
    if held is None:
        session.pop(SIGNUP_KEY, None)
        return _problem(
            "This sign-up expired or was completed. Start again from the registration page.",
            400,
            link=url_for("web.register"),
            label="Back to registration",
        )
    flow, who = held
    form = request.form if request.method == "POST" else {}
    context = {
        "provider": label(who.provider),
        "who": who.as_dict(),
        "email": form.get("email", who.email),
        "name": form.get("name", who.name),
        "terms_url": site_setting("terms_url"),
    }
    if request.method == "GET":
        return render_template("oauth_login/signup.html", **context)
    try:
        user = identities.sign_up(
            who,
            email=form.get("email", ""),
            name=form.get("name", ""),
            accepted_terms=bool(form.get("terms")),
        )
    except AccountError as exc:
        flash(str(exc), "error")
        return render_template("oauth_login/signup.html", **context), 400
    flows.spend_signup(flow)
    session.pop(SIGNUP_KEY, None)
    flash(
        "Welcome! Your account is ready."
        if user.is_verified
        else f"Welcome! We sent a confirmation link to {user.email}.",
        "success",
    )
    try:
        return complete_login(user, method=f"oauth:{who.provider}", next_url=flow.next_url)
    except AccountError as exc:  # a veto_login refusing the brand-new account
        return _problem(str(exc), 403)


@bp.post("/<provider>/unlink")
@login_required
def unlink(provider: str):
    account = url_for("web.account") + "#sign-in-methods"
    try:
        identities.unlink(current_user._get_current_object(), provider)
    except AccountError as exc:
        flash(str(exc), "error")
        return redirect(account)
    flash(f"{label(provider)} is no longer linked.", "success")
    return redirect(account)
