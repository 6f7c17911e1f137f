"""Talking to a provider with Authlib's requests client (``OAuth2Session``): the authorisation
URL, the code exchange (with the PKCE verifier), the id token's checks, and who the person is.

Everything a provider answers is checked before it is believed. For OpenID Connect the id
token's signature (a key of the issuer's JWKS, an asymmetric algorithm the issuer announces),
its issuer, audience (our client id, and ``azp`` when there are several), expiry, issue time
and nonce (the one this flow sent) are validated by Authlib's ``CodeIDToken``; the userinfo
endpoint is asked only for what the token lacks and must name the same subject. An email
counts as verified only when the provider says so explicitly.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import requests
from authlib.integrations.requests_client import OAuth2Session, OAuthError
from authlib.oidc.core import CodeIDToken
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from joserfc.jws import JWSRegistry

from .discovery import DiscoveryError, Metadata, metadata
from .providers import Provider

TIMEOUT = 10.0
LEEWAY = 60  # seconds of clock difference accepted on exp and iat
ASYMMETRIC = (
    "RS256",
    "RS384",
    "RS512",
    "PS256",
    "PS384",
    "PS512",
    "ES256",
    "ES384",
    "ES512",
    "EdDSA",
)


class ProviderFailure(Exception):
    """The provider refused, could not be reached, or answered something we cannot trust.
    The message is safe to show to the person logging in."""


@dataclass(frozen=True)
class ProviderIdentity:
    """Who the provider says the person is (normalised across providers)."""

    provider: str
    subject: str
    email: str
    email_verified: bool
    name: str
    username: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "provider": self.provider,
            "subject": self.subject,
            "email": self.email,
            "email_verified": self.email_verified,
            "name": self.name,
            "username": self.username,
        }


def _client(provider: Provider, redirect_uri: str) -> OAuth2Session:
    return OAuth2Session(
        client_id=provider.client_id,
        client_secret=provider.client_secret,
        scope=provider.scope,
        redirect_uri=redirect_uri,
        default_timeout=TIMEOUT,
        code_challenge_method="S256",
        token_endpoint_auth_method=provider.auth_method,
    )


def _endpoints(provider: Provider) -> tuple[str, str, Metadata | None]:
    if provider.kind != "oidc":
        return provider.authorize_url, provider.token_url, None
    try:
        meta = metadata(provider.issuer)
    except DiscoveryError as exc:
        raise ProviderFailure(f"{provider.label} is not reachable right now ({exc}).") from None
    return meta.authorization_endpoint, meta.token_endpoint, meta


def authorization_url(
    provider: Provider, *, redirect_uri: str, state: str, nonce: str, code_verifier: str
) -> str:
    """Where to send the browser: with the state, the PKCE challenge and (OIDC) the nonce."""
    authorize, _token, meta = _endpoints(provider)
    extra = {"nonce": nonce} if meta is not None else {}
    with _client(provider, redirect_uri) as client:
        url, _state = client.create_authorization_url(
            authorize, state=state, code_verifier=code_verifier, **extra
        )
    return url


def identify(
    provider: Provider, *, redirect_uri: str, code: str, code_verifier: str, nonce: str
) -> ProviderIdentity:
    """Exchange the code and read who logged in; ProviderFailure when anything is wrong."""
    _authorize, token_url, meta = _endpoints(provider)
    with _client(provider, redirect_uri) as client:
        try:
            token = client.fetch_token(
                token_url,
                code=code,
                code_verifier=code_verifier,
                grant_type="authorization_code",
                headers={"Accept": "application/json"},
            )
        except OAuthError as exc:
            raise ProviderFailure(
                f"{provider.label} refused the sign-in ({exc.error or 'error'}). Try again."
            ) from None
        except (requests.RequestException, ValueError) as exc:
            raise ProviderFailure(
                f"{provider.label} could not be reached ({type(exc).__name__}). Try again later."
            ) from None
        if not token.get("access_token"):
            raise ProviderFailure(f"{provider.label} answered without an access token.")
        try:
            if meta is not None:
                return _from_id_token(provider, meta, client, token, nonce)
            if provider.key == "github":
                return _github(provider, client)
            return _discord(provider, client)
        except (requests.RequestException, ValueError, KeyError, TypeError) as exc:
            raise ProviderFailure(
                f"{provider.label} did not say who you are ({type(exc).__name__}). Try again later."
            ) from None


def _get(client: OAuth2Session, url: str) -> Any:
    response = client.get(url, headers={"Accept": "application/json"})
    response.raise_for_status()
    return response.json()


def _from_id_token(
    provider: Provider, meta: Metadata, client: OAuth2Session, token: dict, nonce: str
) -> ProviderIdentity:
    raw = token.get("id_token")
    if not raw:
        raise ProviderFailure(f"{provider.label} answered without an id token.")
    algorithms = [a for a in meta.signing_algorithms if a in ASYMMETRIC] or ["RS256"]
    try:
        try:
            decoded = jwt.decode(
                raw, KeySet.import_key_set(meta.jwks()), registry=JWSRegistry(algorithms=algorithms)
            )
        except JoseError:  # a key rotated since we fetched the set: fetch it once more
            decoded = jwt.decode(
                raw,
                KeySet.import_key_set(meta.jwks(refresh=True)),
                registry=JWSRegistry(algorithms=algorithms),
            )
        claims = CodeIDToken(
            decoded.claims,
            decoded.header,
            {
                "iss": {"essential": True, "values": [meta.issuer]},
                "aud": {"essential": True, "values": [provider.client_id]},
                "sub": {"essential": True},
                "exp": {"essential": True},
                "iat": {"essential": True},
                "nonce": {"essential": True},
            },
            {
                "nonce": nonce,
                "client_id": provider.client_id,
                "access_token": token["access_token"],
            },
        )
        claims.validate(leeway=LEEWAY)
    except (JoseError, ValueError, DiscoveryError) as exc:
        raise ProviderFailure(
            f"The sign-in answer of {provider.label} did not pass its checks "
            f"({type(exc).__name__}). Start again."
        ) from None
    info = dict(claims)
    if not info.get("email") and meta.userinfo_endpoint:
        extra = _get(client, meta.userinfo_endpoint)
        if str(extra.get("sub")) != str(info["sub"]):
            raise ProviderFailure(
                f"{provider.label} described another account than the one "
                "that signed in. Start again."
            )
        info = {
            **extra,
            **info,
            "email": extra.get("email"),
            "email_verified": extra.get("email_verified"),
        }
    return ProviderIdentity(
        provider.key,
        str(info["sub"]),
        _email(info.get("email")),
        info.get("email_verified") is True,
        str(info.get("name") or "")[:255],
        str(info.get("preferred_username") or "")[:191],
    )


def _discord(provider: Provider, client: OAuth2Session) -> ProviderIdentity:
    me = _get(client, provider.user_url)
    return ProviderIdentity(
        provider.key,
        str(me["id"]),
        _email(me.get("email")),
        me.get("verified") is True,
        str(me.get("global_name") or me.get("username") or "")[:255],
        str(me.get("username") or "")[:191],
    )


def _github(provider: Provider, client: OAuth2Session) -> ProviderIdentity:
    me = _get(client, provider.user_url)
    addresses = _get(client, provider.emails_url) if provider.emails_url else []
    primary = next((a for a in addresses if isinstance(a, dict) and a.get("primary")), None)
    verified = bool(primary and primary.get("verified") is True)
    email = (primary or {}).get("email") or me.get("email")
    return ProviderIdentity(
        provider.key,
        str(me["id"]),
        _email(email),
        verified,
        str(me.get("name") or me.get("login") or "")[:255],
        str(me.get("login") or "")[:191],
    )


def _email(value: Any) -> str:
    return value.strip().lower()[:255] if isinstance(value, str) else ""
