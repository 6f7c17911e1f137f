"""Who is calling the API: the bearer token, its scope, its rate limit and the audit row.

Only the ``Authorization: Bearer`` header authenticates. A session cookie sent along is
ignored (the token's user becomes ``current_user`` for the request, so the cookie is never
read), which is why the API needs no CSRF token: a browser cannot be made to send a bearer
header cross-site. A token in the query string is refused outright, before it is looked
at, so people learn not to put tokens in URLs (where proxies and logs keep them).
"""

from __future__ import annotations

from flask import Flask, current_app, g, request
from limits import parse_many

from kernel import audit
from kernel.rest.errors import API_PREFIX, ApiError
from kernel.rest.framework import is_public, permission_of, scope_of
from kernel.rest.scopes import holds
from kernel.rest.tokens import TokenRefused, authenticate, touch

QUERY_TOKEN_NAMES = frozenset({"access_token", "token", "api_key", "apikey", "key", "bearer"})
DEFAULT_RATE_LIMIT = "120 per minute;3000 per hour"
PUBLIC_BLUEPRINTS = frozenset({"api-docs", "api_reference"})  # the spec; the reference page


def _unauthorized(message: str) -> ApiError:
    return ApiError(401, message, headers={"WWW-Authenticate": 'Bearer realm="pteroca"'})


def _bearer() -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, secret = header.partition(" ")
    if not header:
        raise _unauthorized("Send a token in the header Authorization: Bearer <token>.")
    if scheme.lower() != "bearer" or not secret.strip():
        raise _unauthorized("The Authorization header must be: Bearer <token>.")
    return secret.strip()


def _rate_limit(token) -> None:
    limiter = current_app.extensions.get("pteroca_limiter")
    if limiter is None:
        return
    spec = current_app.config.get("RATELIMIT_API") or DEFAULT_RATE_LIMIT
    for item in parse_many(spec):
        if not limiter.limiter.hit(item, "api-token", str(token.id)):
            reset, _remaining = limiter.limiter.get_window_stats(item, "api-token", str(token.id))
            import time

            wait = max(1, int(reset - time.time()))
            raise ApiError(
                429,
                f"Too many calls with this token ({item}); wait {wait} s.",
                headers={"Retry-After": str(wait)},
            )


def _authenticate():
    if not request.path.startswith(API_PREFIX) or request.endpoint is None:
        return None  # not the API, or no such route: the error handler answers
    view = current_app.view_functions.get(request.endpoint)
    if request.blueprint in PUBLIC_BLUEPRINTS or (view is not None and is_public(view)):
        return None
    if QUERY_TOKEN_NAMES & {name.lower() for name in request.args}:
        raise ApiError(
            400,
            "Tokens are accepted only in the Authorization header, never in "
            "the URL: URLs end up in logs. Revoke this token and make a new one.",
            type="token_in_url",
        )
    needed = scope_of(view) if view is not None else None
    try:
        token = authenticate(_bearer())
    except TokenRefused as exc:
        raise _unauthorized(f"The token was refused: {exc}.") from None
    if needed is None:
        raise ApiError(403, "This endpoint declares no scope, so no token may call it.")
    if not holds(token.user, token.scopes, needed):
        raise ApiError(403, f"This token lacks the scope {needed}.", type="insufficient_scope")
    permission = permission_of(view)
    if permission and not token.user.has_permission(permission):
        raise ApiError(
            403,
            f"The account of this token lacks the permission {permission}.",
            type="insufficient_scope",
        )
    _rate_limit(token)
    g.api_token = token
    g._login_user = token.user  # current_user for services and the audit log; no cookie read
    return None


def _audit(response):
    token = getattr(g, "api_token", None)
    if token is None:
        return response
    from kernel.extensions import db

    try:
        if response.status_code >= 400:
            db.session.rollback()  # a refused call leaves nothing half-done behind its audit row
        touch(token, request.remote_addr or "")
        audit.record(
            "api.call",
            f"{request.method} {request.path}"[:255],
            {"token": token.id, "status": response.status_code, "endpoint": request.endpoint},
            actor=token.user.email,
            commit=True,
        )
    except Exception:  # noqa: BLE001 - the answer is made; log the failure, keep the answer
        db.session.rollback()
        current_app.logger.exception("could not audit API call %s %s", request.method, request.path)
    return response


def init_auth(app: Flask) -> None:
    """Authenticate API calls right after the request gate (before the account guard,
    whose redirects are for browsers)."""
    funcs = app.before_request_funcs.setdefault(None, [])
    funcs.insert(1 if funcs else 0, _authenticate)
    app.after_request(_audit)
