"""The email verification gate: which actions need a confirmed address, and the one check.

In ``required`` mode (the ``email_verification`` site setting) an unverified account may
not spend or bring in money: buy a server, renew one, change its plan, top up the wallet,
redeem a balance voucher. Every view that does one of these carries
:func:`verified_required` with its action name, so the rule lives here and nowhere else;
plugins reach it through the public API (``from kernel import verified_required``) and add
their own gated actions with :func:`gate_action`. ``verification_refusal`` answers the same
question for code that is not a view (an API endpoint, a plugin's own form handler).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import current_app, jsonify, render_template, request
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from kernel.accounts.links import must_verify

# action -> what the customer was trying to do, in words that finish "Confirm your email
# address to ...". The banner lists them, the refusal names the one refused.
GATED_ACTIONS: dict[str, Any] = {
    "checkout": _l("buy a server"),
    "renew": _l("renew a server"),
    "change_plan": _l("change a server's plan"),
    "topup": _l("top up your wallet"),
    "voucher_redeem": _l("redeem a voucher"),
}


def gate_action(action: str, label: Any) -> None:
    """Name a plugin's own gated action (``label`` finishes "Confirm your email address to")."""
    GATED_ACTIONS.setdefault(action, label)


def action_label(action: str | None) -> str:
    return str(GATED_ACTIONS.get(action or "", _l("do this")))


def verification_refusal(user: Any, action: str | None = None) -> str | None:
    """Why ``user`` may not do ``action`` now (their address is unconfirmed), or None."""
    if user is None or not getattr(user, "is_authenticated", False) or not must_verify(user):
        return None
    return str(
        _l(
            "Confirm your email address %(email)s to %(action)s. Open the link we sent "
            "you, or ask for a new one.",
            email=user.email,
            action=action_label(action),
        )
    )


def _refuse(action: str | None, reason: str):
    if request.is_json or request.accept_mimetypes.best == "application/json":
        return jsonify(ok=False, error=reason, verify_email=True), 403
    return render_template(
        "panel/verify_required.html", action=action_label(action), reason=reason
    ), 403


def verified_required(view_or_action: Callable | str | None = None) -> Callable:
    """View decorator: in ``required`` mode an unverified account gets a 403 page (JSON for
    JSON callers) naming the action and offering to resend the link; nothing runs.

    Use as ``@verified_required("checkout")`` (the action name picks the wording) or bare
    ``@verified_required``. Anonymous users are sent to the login page.
    """

    def decorate(view: Callable, action: str | None) -> Callable:
        @wraps(view)
        def wrapper(*args, **kwargs):
            if not current_user.is_authenticated:
                return current_app.login_manager.unauthorized()
            reason = verification_refusal(current_user, action)
            if reason:
                return _refuse(action, reason)
            return view(*args, **kwargs)

        wrapper.verification_action = action or ""  # type: ignore[attr-defined]
        return wrapper

    if callable(view_or_action):
        return decorate(view_or_action, None)
    return lambda view: decorate(view, view_or_action)
