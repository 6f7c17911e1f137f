"""A local OAuth 2.0 / OpenID Connect provider for tests and demos (never the network).

One server speaks three dialects, each under its own prefix, so one fake stands in for every
provider the ``oauth_login`` plugin knows:

    /discord/oauth2/authorize        Discord: authorise (GET: approve at once or show a page)
    /discord/api/oauth2/token        token (authorization_code, PKCE S256)
    /discord/api/users/@me           the user: id, username, global_name, email, verified
    /github/login/oauth/authorize    GitHub: authorise
    /github/login/oauth/access_token token
    /github-api/user                 the user: id, login, name, email
    /github-api/user/emails          the addresses: email, primary, verified
    /oidc/.well-known/openid-configuration   OpenID Connect discovery (issuer = url + "/oidc")
    /oidc/authorize  /oidc/token  /oidc/userinfo  /oidc/jwks   signed RS256 id tokens

The token endpoints check what a real provider checks: the client's id and secret (HTTP
Basic or form), the code (once, unexpired, issued to this client for this redirect URI) and
the PKCE verifier against the challenge. Id tokens are signed with a fresh RSA key published
in the JWKS, assembled here with ``cryptography`` independently of the library under test.

Test controls (methods and attributes of :class:`FakeOAuthProvider`): who the next sign-in
is (:meth:`sign_in_as`), approval at once or through a page (``auto_approve``), claims to
override in the next id token (``id_token_overrides``: a wrong nonce, audience, issuer or an
expired token), signing with a key not in the JWKS (``sign_with_foreign_key``), and the log of
authorisation requests (``authorizations``) and token requests (``token_requests``).
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import secrets
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qsl, unquote_plus, urlencode, urlsplit

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from simulators.served import ServedFake

CLIENT_ID = "pteroca-test-client"
CLIENT_SECRET = "pteroca-test-secret"
CODE_SECONDS = 600
DIALECTS = {
    "discord": ("/discord/oauth2/authorize", "/discord/api/oauth2/token"),
    "github": ("/github/login/oauth/authorize", "/github/login/oauth/access_token"),
    "oidc": ("/oidc/authorize", "/oidc/token"),
}


@dataclass
class Identity:
    """One account at the provider."""

    subject: str
    email: str | None = None
    email_verified: bool = True
    name: str = ""
    username: str = ""


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _int_bytes(value: int) -> bytes:
    return value.to_bytes((value.bit_length() + 7) // 8, "big")


class SigningKey:
    """An RS256 key and its public JWK."""

    def __init__(self) -> None:
        self.private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.kid = secrets.token_hex(8)

    def jwk(self) -> dict[str, str]:
        numbers = self.private.public_key().public_numbers()
        return {
            "kty": "RSA",
            "kid": self.kid,
            "use": "sig",
            "alg": "RS256",
            "n": b64url(_int_bytes(numbers.n)),
            "e": b64url(_int_bytes(numbers.e)),
        }

    def sign(self, claims: dict[str, Any]) -> str:
        header = {"alg": "RS256", "typ": "JWT", "kid": self.kid}
        signing_input = (
            b64url(json.dumps(header).encode()) + "." + b64url(json.dumps(claims).encode())
        )
        signature = self.private.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
        return signing_input + "." + b64url(signature)


class OAuthFakeError(Exception):
    def __init__(self, status: int, error: str, description: str = ""):
        super().__init__(description or error)
        self.status, self.body = status, {"error": error, "error_description": description}


class FakeOAuthProvider(ServedFake):
    thread_name = "fake-oauth"

    def __init__(self, client_id: str = CLIENT_ID, client_secret: str = CLIENT_SECRET) -> None:
        self.client_id, self.client_secret = client_id, client_secret
        self.auto_approve = True
        self.next_identity = Identity("1001", "player@example.com", True, "Player One", "player1")
        self.id_token_overrides: dict[str, Any] = {}
        self.sign_with_foreign_key = False
        self.authorizations: list[dict[str, Any]] = []
        self.token_requests: list[dict[str, Any]] = []
        self._codes: dict[str, dict[str, Any]] = {}
        self._tokens: dict[str, Identity] = {}
        self._key, self._foreign = SigningKey(), SigningKey()
        self._lock = threading.RLock()
        self._serve(self._handler())

    # -- addresses the plugin's settings point at ------------------------------------------
    @property
    def issuer(self) -> str:
        return self.url + "/oidc"

    @property
    def discord_base(self) -> str:
        return self.url + "/discord"

    @property
    def github_base(self) -> str:
        return self.url + "/github"

    @property
    def github_api(self) -> str:
        return self.url + "/github-api"

    # -- test controls ----------------------------------------------------------------------
    def sign_in_as(
        self,
        subject: str,
        email: str | None = None,
        *,
        verified: bool = True,
        name: str = "",
        username: str = "",
    ) -> Identity:
        """The account the next authorisation approves."""
        with self._lock:
            self.next_identity = Identity(
                str(subject), email, verified, name, username or f"user{subject}"
            )
            return self.next_identity

    def last_authorization(self) -> dict[str, Any]:
        return self.authorizations[-1]

    # -- the protocol -----------------------------------------------------------------------
    def authorize(self, dialect: str, params: dict[str, str]) -> str:
        """Approve an authorisation request: the redirect URL carrying the code (or an error)."""
        redirect_uri = params.get("redirect_uri", "")
        with self._lock:
            self.authorizations.append({"dialect": dialect, **params})
            if params.get("client_id") != self.client_id:
                raise OAuthFakeError(400, "invalid_client", "unknown client_id")
            if not redirect_uri.startswith(("http://", "https://")):
                raise OAuthFakeError(400, "invalid_request", "redirect_uri is missing")
            if params.get("response_type") != "code":
                return _with(
                    redirect_uri, error="unsupported_response_type", state=params.get("state", "")
                )
            code = secrets.token_urlsafe(24)
            self._codes[code] = {
                "dialect": dialect,
                "client_id": self.client_id,
                "redirect_uri": redirect_uri,
                "nonce": params.get("nonce"),
                "challenge": params.get("code_challenge"),
                "method": params.get("code_challenge_method"),
                "identity": self.next_identity,
                "at": time.time(),
                "scope": params.get("scope", ""),
            }
        return _with(redirect_uri, code=code, state=params.get("state", ""))

    def _client(self, headers, form: dict[str, str]) -> None:
        auth = headers.get("Authorization", "")
        if auth.startswith("Basic "):
            try:
                ident, _, secret = base64.b64decode(auth[6:]).decode().partition(":")
            except ValueError:
                raise OAuthFakeError(401, "invalid_client", "bad Basic header") from None
            ident, secret = unquote_plus(ident), unquote_plus(secret)
        else:
            ident, secret = form.get("client_id", ""), form.get("client_secret", "")
        if ident != self.client_id or not secrets.compare_digest(secret, self.client_secret):
            raise OAuthFakeError(401, "invalid_client", "client authentication failed")

    def token(self, dialect: str, headers, form: dict[str, str]) -> dict[str, Any]:
        with self._lock:
            self.token_requests.append({"dialect": dialect, **form})
            self._client(headers, form)
            if form.get("grant_type") != "authorization_code":
                raise OAuthFakeError(400, "unsupported_grant_type")
            grant = self._codes.pop(form.get("code", ""), None)  # a code works once
            if (
                grant is None
                or grant["dialect"] != dialect
                or time.time() - grant["at"] > CODE_SECONDS
            ):
                raise OAuthFakeError(400, "invalid_grant", "unknown, used or expired code")
            if grant["redirect_uri"] != form.get("redirect_uri"):
                raise OAuthFakeError(400, "invalid_grant", "redirect_uri does not match")
            if grant["challenge"]:
                verifier = form.get("code_verifier", "")
                computed = b64url(hashlib.sha256(verifier.encode()).digest())
                if (
                    grant["method"] != "S256"
                    or not verifier
                    or not secrets.compare_digest(computed, grant["challenge"])
                ):
                    raise OAuthFakeError(400, "invalid_grant", "PKCE verification failed")
            access = secrets.token_urlsafe(24)
            identity = grant["identity"]
            self._tokens[access] = identity
            answer: dict[str, Any] = {
                "access_token": access,
                "token_type": "Bearer",
                "expires_in": 3600,
                "scope": grant["scope"],
            }
            if dialect == "oidc":
                answer["id_token"] = self.id_token(identity, grant["nonce"])
            return answer

    def id_token(self, identity: Identity, nonce: str | None) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "sub": identity.subject,
            "aud": self.client_id,
            "iat": now,
            "exp": now + 300,
            "name": identity.name,
            "preferred_username": identity.username,
        }
        if identity.email is not None:
            claims.update(email=identity.email, email_verified=identity.email_verified)
        if nonce:
            claims["nonce"] = nonce
        claims.update(self.id_token_overrides)
        self.id_token_overrides = {}
        key = self._foreign if self.sign_with_foreign_key else self._key
        return key.sign({k: v for k, v in claims.items() if v is not None})

    def who(self, headers) -> Identity:
        auth = headers.get("Authorization", "")
        identity = self._tokens.get(auth[7:]) if auth.startswith("Bearer ") else None
        if identity is None:
            raise OAuthFakeError(401, "invalid_token", "unknown access token")
        return identity

    def discovery(self) -> dict[str, Any]:
        return {
            "issuer": self.issuer,
            "authorization_endpoint": self.issuer + "/authorize",
            "token_endpoint": self.issuer + "/token",
            "userinfo_endpoint": self.issuer + "/userinfo",
            "jwks_uri": self.issuer + "/jwks",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "code_challenge_methods_supported": ["S256"],
            "scopes_supported": ["openid", "email", "profile"],
        }

    def userinfo(self, dialect: str, path: str, headers) -> Any:
        ident = self.who(headers)
        if dialect == "discord":
            return {
                "id": ident.subject,
                "username": ident.username,
                "global_name": ident.name,
                "email": ident.email,
                "verified": ident.email_verified,
            }
        if path.endswith("/emails"):
            return (
                []
                if ident.email is None
                else [
                    {
                        "email": ident.email,
                        "primary": True,
                        "verified": ident.email_verified,
                        "visibility": "private",
                    }
                ]
            )
        if dialect == "github":
            return {
                "id": int(ident.subject) if ident.subject.isdigit() else ident.subject,
                "login": ident.username,
                "name": ident.name,
                "email": None,
            }
        info = {"sub": ident.subject, "name": ident.name, "preferred_username": ident.username}
        if ident.email is not None:
            info.update(email=ident.email, email_verified=ident.email_verified)
        return info

    # -- HTTP ---------------------------------------------------------------------------------
    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def _send(
                self,
                status: int,
                body: Any,
                content_type="application/json",
                headers: dict[str, str] | None = None,
            ) -> None:
                data = (
                    body
                    if isinstance(body, bytes)
                    else (body.encode() if isinstance(body, str) else json.dumps(body).encode())
                )
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Cache-Control", "no-store")
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)

            def _form(self) -> dict[str, str]:
                length = int(self.headers.get("Content-Length") or 0)
                return dict(parse_qsl(self.rfile.read(length).decode()))

            def _dialect(self, path: str) -> str | None:
                for name, (authorize, token) in DIALECTS.items():
                    if path in (authorize, token):
                        return name
                return None

            def _authorize(self, params: dict[str, str], approved: bool) -> None:
                path = urlsplit(self.path).path
                if not approved:
                    self._send(
                        200,
                        _approval_page(path, params, fake.next_identity),
                        "text/html; charset=utf-8",
                    )
                    return
                target = fake.authorize(self._dialect(path) or "oidc", params)
                self._send(302, b"", "text/plain", {"Location": target})

            def do_GET(self):
                parts = urlsplit(self.path)
                path, params = parts.path, dict(parse_qsl(parts.query))
                try:
                    if path in (DIALECTS[d][0] for d in DIALECTS):
                        self._authorize(params, fake.auto_approve)
                    elif path == "/oidc/.well-known/openid-configuration":
                        self._send(200, fake.discovery())
                    elif path == "/oidc/jwks":
                        self._send(200, {"keys": [fake._key.jwk()]})
                    elif path == "/discord/api/users/@me":
                        self._send(200, fake.userinfo("discord", path, self.headers))
                    elif path in ("/github-api/user", "/github-api/user/emails"):
                        self._send(200, fake.userinfo("github", path, self.headers))
                    elif path == "/oidc/userinfo":
                        self._send(200, fake.userinfo("oidc", path, self.headers))
                    else:
                        self._send(404, {"error": "not_found"})
                except OAuthFakeError as exc:
                    self._send(exc.status, exc.body)

            def do_POST(self):
                path = urlsplit(self.path).path
                form = self._form()
                try:
                    if path in (DIALECTS[d][0] for d in DIALECTS):  # the approval page's button
                        self._authorize(form, True)
                    elif (dialect := self._dialect(path)) is not None:
                        self._send(200, fake.token(dialect, self.headers, form))
                    else:
                        self._send(404, {"error": "not_found"})
                except OAuthFakeError as exc:
                    self._send(exc.status, exc.body)

        return Handler


def _with(url: str, **params: str) -> str:
    return url + ("&" if "?" in url else "?") + urlencode(params)


def _approval_page(path: str, params: dict[str, str], identity: Identity) -> str:
    fields = "".join(
        f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
        for k, v in params.items()
    )
    who = html.escape(f"{identity.name or identity.username} <{identity.email or 'no email'}>")
    return (
        f'<!doctype html><html lang="en"><title>Fake provider</title><h1>Sign in to pteroca?</h1>'
        f"<p>Signed in as {who}</p><form method=post action='{html.escape(path)}'>{fields}"
        f"<button type=submit id=approve>Authorize</button></form>"
    )


__all__ = ["CLIENT_ID", "CLIENT_SECRET", "FakeOAuthProvider", "Identity", "SigningKey"]
