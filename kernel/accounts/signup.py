"""Self-service sign-up: the site's switches and terms, the account, the confirmation link.

Staff-made accounts (``pteroca user create``, the admin) call
:func:`kernel.accounts.services.create_user` directly; sign-up adds the rules a visitor must
meet and the verification email (:mod:`kernel.accounts.links`).
"""

from __future__ import annotations

from flask_babel import gettext as _

from kernel import audit, site_settings
from kernel.accounts import links
from kernel.accounts.models import User
from kernel.accounts.services import AccountError, create_user, normalise_email


def register(
    email: str, password: str | None, *, name: str, accepted_terms: bool, verified: bool = False
) -> User:
    """Self-service registration: the site's switches, the terms, then :func:`create_user`.

    ``password=None`` registers an account without a password (see :func:`kernel.accounts.services.create_user`);
    ``verified`` is for an address another service vouched for (no confirmation link)."""
    if not site_settings.get("registration_enabled"):
        raise AccountError(_("Registration is closed on this site."))
    if not (name or "").strip():
        raise AccountError(_("Tell us your name."))
    if not accepted_terms:
        raise AccountError(_("You must accept the terms of service to register."))
    user = create_user(email, password, name=name, actor=normalise_email(email), verified=verified)
    audit.record("user.registered", user.email, actor=user.email)
    if links.verification_mode() != "disabled":
        links.send_verification(user)
    return user
