"""PayPal's REST API over httpx: client-credentials tokens (cached) and JSON calls.

One short-lived :class:`httpx.Client` per provider operation, with timeouts. Every
failure becomes a :class:`PayPalError` (a ``ProviderError``) whose message is one
readable line built from PayPal's error object.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from dataclasses import dataclass
from typing import Any

import httpx

from kernel import ProviderError

TIMEOUT = httpx.Timeout(20.0, connect=5.0)
REQUEST_ID = "PayPal-Request-Id"  # PayPal's idempotency header: a retry returns the first result
TOKEN_MARGIN_SECONDS = 300  # renew a token this long before PayPal says it expires
LIVE_URL = "https://api-m.paypal.com"
SANDBOX_URL = "https://api-m.sandbox.paypal.com"

_cache: dict[tuple[str, str, str], tuple[str, float]] = {}
_cache_lock = threading.Lock()


class PayPalError(ProviderError):
    """PayPal answered with an error (``status`` 0: it could not be reached)."""

    def __init__(self, message: str, *, status: int = 0, name: str = "", issue: str = "") -> None:
        super().__init__(message)
        self.status, self.name, self.issue = status, name, issue


@dataclass(frozen=True)
class Credentials:
    base_url: str
    client_id: str
    client_secret: str

    def cache_key(self) -> tuple[str, str, str]:
        digest = hashlib.sha256(self.client_secret.encode()).hexdigest()
        return (self.base_url, self.client_id, digest)


def base_url_for(mode: str, base_url: str = "") -> str:
    """The configured URL, else PayPal's own API for ``mode`` (sandbox unless ``live``)."""
    return (base_url or (LIVE_URL if mode == "live" else SANDBOX_URL)).rstrip("/")


def forget_tokens() -> None:
    """Drop every cached access token (tests, credential changes)."""
    with _cache_lock:
        _cache.clear()


def _one_line(text: str, limit: int = 300) -> str:
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        data = response.json() if response.content else {}
    except ValueError:
        raise PayPalError(
            f"PayPal answered {response.status_code} with a body that is not JSON",
            status=response.status_code,
        ) from None
    if not isinstance(data, dict):
        raise PayPalError(
            f"PayPal answered {response.status_code} with unexpected JSON",
            status=response.status_code,
        )
    return data


def error_from(response: httpx.Response) -> PayPalError:
    """A readable error from PayPal's error object (REST or OAuth shape)."""
    status = response.status_code
    try:
        data = response.json()
    except ValueError:
        data = None
    if not isinstance(data, dict):
        return PayPalError(f"PayPal answered HTTP {status}", status=status)
    if "error" in data and "name" not in data:  # OAuth: {"error", "error_description"}
        code, text = str(data.get("error")), str(data.get("error_description") or "")
        if code == "invalid_client":
            message = f"PayPal rejected the client credentials ({code}: {text or 'check them'})"
        else:
            message = f"PayPal refused an access token ({code}: {text})"
        return PayPalError(_one_line(message), status=status, name=code)
    name = str(data.get("name") or f"HTTP {status}")
    details = data.get("details") if isinstance(data.get("details"), list) else []
    first = details[0] if details and isinstance(details[0], dict) else {}
    issue = str(first.get("issue") or "")
    text = first.get("description") or data.get("message") or "no message"
    if name == "AUTHENTICATION_FAILURE":
        text = f"it rejected the access token: {text}"
    label = f"{name}/{issue}" if issue else name
    return PayPalError(
        _one_line(f"PayPal refused the request: {text} [{label}]"),
        status=status,
        name=name,
        issue=issue,
    )


class PayPalClient:
    """``with PayPalClient(creds) as api: api.call("GET", "/v2/checkout/orders/ID")``."""

    def __init__(self, credentials: Credentials, *, timeout: httpx.Timeout = TIMEOUT) -> None:
        self.credentials = credentials
        self._http = httpx.Client(
            base_url=credentials.base_url,
            timeout=timeout,
            headers={"Accept": "application/json", "User-Agent": "pteroca-paypal/1.0"},
        )

    def __enter__(self) -> PayPalClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self._http.close()

    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            return self._http.request(method, path, **kwargs)
        except httpx.TimeoutException:
            where = self.credentials.base_url
            raise PayPalError(f"PayPal did not answer in time ({where})") from None
        except httpx.HTTPError as exc:
            raise PayPalError(
                f"PayPal could not be reached at {self.credentials.base_url} ({type(exc).__name__})"
            ) from None

    def access_token(self, *, renew: bool = False) -> str:
        key = self.credentials.cache_key()
        with _cache_lock:
            cached = _cache.get(key)
        if cached and not renew and cached[1] > time.monotonic():
            return cached[0]
        response = self._send(
            "POST",
            "/v1/oauth2/token",
            data={"grant_type": "client_credentials"},
            auth=(self.credentials.client_id, self.credentials.client_secret),
        )
        if response.status_code != 200:
            raise error_from(response)
        data = _json(response)
        value = data.get("access_token")
        if not isinstance(value, str) or not value:
            raise PayPalError("PayPal answered the token request without an access token")
        lifetime = float(data.get("expires_in") or 0)
        expires = time.monotonic() + lifetime - min(TOKEN_MARGIN_SECONDS, lifetime / 2)
        with _cache_lock:
            _cache[key] = (value, expires)
        return value

    def call(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        raw_json: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        """One authenticated JSON call; a rejected cached token is renewed once.

        A call PayPal can safely repeat (a GET, or a POST carrying ``PayPal-Request-Id``) is
        sent once more when the network failed or PayPal answered 5xx: the request id makes
        the repeat return the first call's result, never a second order or capture.
        """
        extra = {"Content-Type": "application/json", **(headers or {})}
        content = (
            raw_json
            if raw_json is not None
            else (None if json_body is None else json.dumps(json_body).encode())
        )
        repeatable = method == "GET" or REQUEST_ID.lower() in {k.lower() for k in extra}
        renew, tries = False, 0
        while True:
            token = self.access_token(renew=renew)
            try:
                response = self._send(
                    method,
                    path,
                    content=content,
                    headers={**extra, "Authorization": f"Bearer {token}"},
                )
            except PayPalError:
                tries += 1
                if repeatable and tries < 2:
                    continue
                raise
            if response.status_code == 401 and not renew:
                renew = True
                continue
            if response.status_code >= 500 and repeatable and tries < 1:
                tries += 1
                continue
            break
        if response.status_code >= 400:
            raise error_from(response)
        return _json(response)
