"""OpenID Connect discovery: an issuer's endpoints and signing keys, cached for a while.

``<issuer>/.well-known/openid-configuration`` must name the same issuer (a document that
names another one is refused: it could make us trust tokens of someone else), and every
endpoint must be an http(s) URL. The document and the JWKS are kept for :data:`TTL` seconds
per process; an unknown key id in a token fetches the JWKS again (keys rotate).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

import requests

TTL = 600.0
TIMEOUT = 10.0
_cache: dict[str, tuple[float, Metadata]] = {}
_lock = threading.Lock()


class DiscoveryError(Exception):
    """The issuer's discovery document or keys cannot be used; the message says why."""


def _fetch(url: str) -> dict[str, Any]:
    try:
        response = requests.get(
            url, timeout=TIMEOUT, headers={"Accept": "application/json"}, allow_redirects=False
        )
        response.raise_for_status()
        data = response.json()
    except (requests.RequestException, ValueError) as exc:
        raise DiscoveryError(f"{url}: {type(exc).__name__}") from None
    if not isinstance(data, dict):
        raise DiscoveryError(f"{url} did not answer a JSON object")
    return data


def _url(document: dict[str, Any], key: str, *, required: bool = True) -> str:
    value = document.get(key)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or not value.startswith(("https://", "http://")):
        raise DiscoveryError(f"the discovery document has no usable {key}")
    return value


@dataclass
class Metadata:
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    userinfo_endpoint: str
    signing_algorithms: list[str]
    _keys: dict[str, Any] | None = field(default=None, repr=False)

    def jwks(self, refresh: bool = False) -> dict[str, Any]:
        if self._keys is None or refresh:
            keys = _fetch(self.jwks_uri)
            if not isinstance(keys.get("keys"), list):
                raise DiscoveryError("the issuer's JWKS has no keys")
            self._keys = keys
        return self._keys


def metadata(issuer: str) -> Metadata:
    """The issuer's (cached) metadata; DiscoveryError when it cannot be used."""
    now = time.monotonic()
    with _lock:
        cached = _cache.get(issuer)
        if cached and now - cached[0] < TTL:
            return cached[1]
    document = _fetch(issuer.rstrip("/") + "/.well-known/openid-configuration")
    named = document.get("issuer")
    if not isinstance(named, str) or named.rstrip("/") != issuer.rstrip("/"):
        raise DiscoveryError(f"the discovery document names issuer {named!r:.100}, not {issuer!r}")
    algorithms = document.get("id_token_signing_alg_values_supported") or ["RS256"]
    found = Metadata(
        named,
        _url(document, "authorization_endpoint"),
        _url(document, "token_endpoint"),
        _url(document, "jwks_uri"),
        _url(document, "userinfo_endpoint", required=False),
        [a for a in algorithms if isinstance(a, str)],
    )
    with _lock:
        _cache[issuer] = (now, found)
    return found


def forget() -> None:
    """Drop the cache (settings changed, tests)."""
    with _lock:
        _cache.clear()
