"""A trip to a provider and back: started here, finished by the callback, each step once.

:func:`begin` creates a :class:`Flow` row holding the state, the nonce and the PKCE verifier
(none of which the browser needs besides the state) and ties it to the browser through a
random key in its session. :func:`finish` accepts the provider's answer only for a pending
flow of the same provider, started by the same browser less than :data:`MAX_AGE` ago, and
spends it with a guarded update so a replayed callback (the same state twice, even from a
copied cookie) is refused. Only then is the code exchanged (with the verifier) and the answer
checked (:mod:`.client`).
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from flask import current_app, session, url_for
from sqlalchemy import update

from kernel import db
from kernel import now as utcnow

from .client import ProviderFailure, ProviderIdentity, authorization_url, identify
from .models import Flow
from .providers import Provider

MAX_AGE = timedelta(minutes=10)  # from leaving for the provider to coming back
SIGNUP_AGE = timedelta(minutes=30)  # to confirm a sign-up after coming back
BROWSER_KEY = "oauth_login_browser"
PURPOSES = ("login", "link")


class FlowError(ProviderFailure):
    """The callback does not belong to a flow this browser started (or it was used)."""


def _browser() -> str:
    key = session.get(BROWSER_KEY)
    if not isinstance(key, str) or len(key) < 32:
        key = session[BROWSER_KEY] = secrets.token_urlsafe(32)
    return hashlib.sha256(key.encode()).hexdigest()


def redirect_uri(provider: Provider) -> str:
    """The callback the provider must send the browser back to (registered at the provider)."""
    base = str(current_app.config.get("BASE_URL") or "").rstrip("/")
    return base + url_for("oauth_login.callback", provider=provider.key)


def begin(
    provider: Provider, *, purpose: str, user_id: int | None = None, next_url: str = ""
) -> str:
    """Start a flow; the provider's authorisation URL to send the browser to."""
    if purpose not in PURPOSES:
        raise ValueError(f"unknown purpose {purpose!r}")
    flow = Flow(
        state=secrets.token_urlsafe(32),
        browser=_browser(),
        provider=provider.key,
        purpose=purpose,
        user_id=user_id,
        nonce=secrets.token_urlsafe(32),
        code_verifier=secrets.token_urlsafe(64),
        next_url=(next_url or "")[:500],
        status="pending",
        identity=None,
    )
    url = authorization_url(
        provider,
        redirect_uri=redirect_uri(provider),
        state=flow.state,
        nonce=flow.nonce,
        code_verifier=flow.code_verifier,
    )
    db.session.add(flow)
    db.session.commit()
    return url


def _spend(flow_id: int, was: str, becomes: str) -> bool:
    spent = db.session.execute(
        update(Flow).where(Flow.id == flow_id, Flow.status == was).values(status=becomes)
    ).rowcount
    db.session.commit()
    return spent == 1


def finish(provider: Provider, *, state: str, code: str) -> tuple[Flow, ProviderIdentity]:
    """The flow this callback ends and who the provider says logged in; FlowError or
    ProviderFailure (safe messages) otherwise."""
    flow = db.session.scalar(db.select(Flow).where(Flow.state == (state or "")[:64]))
    if (
        flow is None
        or flow.provider != provider.key
        or not secrets.compare_digest(flow.browser, _browser())
    ):
        raise FlowError(
            "This sign-in was not started in this browser, or it is not for "
            f"{provider.label}. Start again from the login page."
        )
    if utcnow() - flow.created_at > MAX_AGE:
        raise FlowError("This sign-in took too long. Start again.")
    if not code:
        raise FlowError(f"{provider.label} did not send the sign-in back. Start again.")
    if not _spend(flow.id, "pending", "done"):
        raise FlowError("This sign-in was already used. Start again.")
    identity = identify(
        provider,
        redirect_uri=redirect_uri(provider),
        code=code,
        code_verifier=flow.code_verifier,
        nonce=flow.nonce,
    )
    return flow, identity


def hold_for_signup(flow: Flow, identity: ProviderIdentity) -> None:
    """Keep the identity with the flow until the person confirms the new account."""
    flow.identity, flow.status = identity.as_dict(), "signup"
    db.session.commit()


def pending_signup(state: str) -> tuple[Flow, ProviderIdentity] | None:
    """The sign-up waiting for confirmation in this browser, if any."""
    flow = db.session.scalar(
        db.select(Flow).where(Flow.state == (state or "")[:64], Flow.status == "signup")
    )
    if (
        flow is None
        or not secrets.compare_digest(flow.browser, _browser())
        or utcnow() - flow.created_at > SIGNUP_AGE
        or not flow.identity
    ):
        return None
    return flow, ProviderIdentity(**flow.identity)


def spend_signup(flow: Flow) -> bool:
    """Take the held sign-up (once); the identity it held is dropped from the flow."""
    spent = db.session.execute(
        update(Flow)
        .where(Flow.id == flow.id, Flow.status == "signup")
        .values(status="done", identity=None)
    ).rowcount
    db.session.commit()
    return spent == 1


def purge(now=None) -> int:
    """Cron: delete flows older than a day (and with them any identity held for a sign-up)."""
    cutoff = (now or utcnow()) - timedelta(days=1)
    result = db.session.execute(db.delete(Flow).where(Flow.created_at < cutoff))
    db.session.commit()
    return result.rowcount
