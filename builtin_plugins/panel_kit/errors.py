"""Panel errors: the one place that turns a panel answer into a typed exception.

Pterodactyl and Pelican (its fork) answer errors in the same shape, so both panel plugins share
this module (docs/reference/pelican_api.md lists where Pelican's codes differ).

The panel answers every error with ``{"errors": [{"code", "status", "detail",
"meta"?: {"source_field", "rule"}, "source"?}]}``
(docs/reference/pterodactyl_api.md §2.4 "Error format and order of checks"). Each
entry becomes an :class:`ErrorEntry`; the response becomes one :class:`PanelError`
subclass chosen from the first entry's ``code`` and the HTTP status. Callers catch
the subclass that matters to them (``NotFound`` on a delete, ``ValidationFailed``
with ``source_field == "email"`` on a user create, ...) and show ``str(exc)``,
which is one readable line.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

GENERIC_500 = "An unexpected error was encountered while processing this request, please try again."


@dataclass(frozen=True)
class ErrorEntry:
    """One entry of the panel's ``errors`` array."""

    code: str
    status: int | None
    detail: str
    source_field: str = ""
    rule: str = ""
    source: dict[str, Any] = field(default_factory=dict)  # file/line, only on APP_DEBUG panels

    def describe(self) -> str:
        where = f" (field {self.source_field})" if self.source_field else ""
        return f"{self.detail}{where}"


class PanelError(Exception):
    """The panel refused or failed a request. ``status`` is None when no answer came."""

    retryable = False

    def __init__(
        self,
        message: str = "",
        *,
        status: int | None = None,
        entries: list[ErrorEntry] | None = None,
        method: str = "",
        path: str = "",
        retry_after: float | None = None,
    ) -> None:
        self.status = status
        self.entries = list(entries or [])
        self.method, self.path = method, path
        self.retry_after = retry_after
        super().__init__(message or self._message())

    # the first entry speaks for the error
    @property
    def code(self) -> str:
        return self.entries[0].code if self.entries else ""

    @property
    def detail(self) -> str:
        return self.entries[0].detail if self.entries else ""

    @property
    def source_field(self) -> str:
        return self.entries[0].source_field if self.entries else ""

    @property
    def rule(self) -> str:
        return self.entries[0].rule if self.entries else ""

    def _message(self) -> str:
        text = "; ".join(e.describe() for e in self.entries) or "no detail given"
        status = f"HTTP {self.status}" if self.status is not None else "no answer"
        code = f"{self.code}, " if self.code else ""
        return f"{text} ({code}{status})"


class PanelUnreachable(PanelError):
    """No HTTP answer: refused connection, DNS failure, TLS error or timeout."""

    retryable = True


class PanelTimeout(PanelUnreachable):
    """The panel did not answer in time; a write may still have happened."""


class NotAPanel(PanelError):
    """The answer was not the panel's JSON API (an HTML page, a proxy error, a wrong URL)."""


class AuthenticationFailed(PanelError):
    """401: the key is missing, unknown or wrong."""


class PermissionDenied(PanelError):
    """403: not a root admin, a key without the resource permission, a wrong key type..."""


class WrongKeyType(PermissionDenied):
    """403: an application key (ptla_) used on the client API."""


class NotRootAdmin(PermissionDenied):
    """403: the key's user is not a root admin, so the application API is closed to it."""


class TwoFactorRequired(PanelError):
    """400: the panel enforces 2FA and the key's owner has none."""


class NotFound(PanelError):
    """404: no such resource (or route)."""


class Conflict(PanelError):
    """409: the action conflicts with the resource's state (e.g. a transfer is running)."""


class ServerStateConflict(Conflict):
    """409 from the client API: the server is suspended, installing, restoring or transferring."""

    @property
    def state(self) -> str:
        """One of suspended, installing, restoring, transferring, maintenance, unknown."""
        text = self.detail.lower()
        for word, state in (
            ("suspended", "suspended"),
            ("installation", "installing"),
            ("restoring", "restoring"),
            ("transferred", "transferring"),
            ("maintenance", "maintenance"),
        ):
            if word in text:
                return state
        return "unknown"


class ValidationFailed(PanelError):
    """422: one entry per failed rule, each naming its ``source_field`` and ``rule``."""

    @property
    def fields(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for entry in self.entries:
            out.setdefault(entry.source_field, []).append(entry.detail)
        return out

    def has(self, source_field: str, rule: str | None = None) -> bool:
        return any(
            e.source_field == source_field and (rule is None or e.rule == rule)
            for e in self.entries
        )


class RateLimited(PanelError):
    """429: too many requests; ``retry_after`` seconds to wait (None when not given)."""

    retryable = True

    @property
    def wait_seconds(self) -> int:
        """Whole seconds to wait before asking again (at least 1)."""
        return max(1, math.ceil(self.retry_after)) if self.retry_after is not None else 60

    def _message(self) -> str:
        return (
            f"the panel is busy (too many requests); try again in {self.wait_seconds} s "
            f"({self.method} {self.path})"
            if self.path
            else f"the panel is busy (too many requests); try again in {self.wait_seconds} s"
        )


class PanelRefused(PanelError):
    """400: a business rule refused the request (``DisplayException`` and friends)."""


class NoCapacity(PanelRefused):
    """400: no node with room, or no free allocation, for an automatic deployment."""


class ServerOffline(PanelError):
    """502 on a console command: the server must be running."""


class DaemonError(PanelError):
    """The panel could not talk to Wings (``DaemonConnectionException``), any status."""

    retryable = True


class ServerError(PanelError):
    """5xx from the panel itself (or a proxy in front of it)."""

    retryable = True


NO_CAPACITY_CODES = frozenset({"NoViableNodeException", "NoViableAllocationException"})
# Pterodactyl names a Wings fault DaemonConnectionException; Pelican answers a 500 with
# ConnectionException (Wings unreachable) or RequestException (Wings answered an error).
DAEMON_CODES = frozenset({"DaemonConnectionException", "ConnectionException", "RequestException"})
WRONG_KEY_TEXT = "application API key on an endpoint that requires a client API key"
NOT_ADMIN_TEXT = "does not have permission to access the API"


def parse_entries(body: Any, status: int) -> list[ErrorEntry]:
    """The ``errors`` array of a decoded body as entries (empty when the body has none)."""
    raw = body.get("errors") if isinstance(body, dict) else None
    if not isinstance(raw, list):
        return []
    entries = []
    for item in raw:
        if not isinstance(item, dict):
            continue
        meta = item.get("meta") if isinstance(item.get("meta"), dict) else {}
        try:
            entry_status = int(item.get("status") or status)
        except (TypeError, ValueError):
            entry_status = status
        entries.append(
            ErrorEntry(
                code=str(item.get("code") or ""),
                status=entry_status,
                detail=str(item.get("detail") or ""),
                source_field=str(meta.get("source_field") or ""),
                rule=str(meta.get("rule") or ""),
                source=item.get("source") if isinstance(item.get("source"), dict) else {},
            )
        )
    return entries


def _class_for(status: int, entries: list[ErrorEntry]) -> type[PanelError]:
    code = entries[0].code if entries else ""
    detail = entries[0].detail if entries else ""
    if code in DAEMON_CODES:
        return DaemonError
    if code in NO_CAPACITY_CODES:
        return NoCapacity
    if code == "ServerStateConflictException":
        return ServerStateConflict
    if code == "TwoFactorAuthRequiredException":
        return TwoFactorRequired
    if status == 401:
        return AuthenticationFailed
    if status == 403:
        if WRONG_KEY_TEXT in detail:
            return WrongKeyType
        if NOT_ADMIN_TEXT in detail:
            return NotRootAdmin
        return PermissionDenied
    if status == 404:
        return NotFound
    if status == 409:
        return Conflict
    if status == 422:
        return ValidationFailed
    if status == 429:
        return RateLimited
    if status == 502 and code == "HttpException" and "online" in detail:
        return ServerOffline
    if status >= 500:
        return ServerError
    if status == 400:
        return PanelRefused
    return PanelError


def retry_after_seconds(headers) -> float | None:
    value = headers.get("Retry-After") if headers is not None else None
    try:
        return max(0.0, float(value)) if value is not None else None
    except (TypeError, ValueError):
        return None


def error_for(
    status: int, body: Any, *, method: str = "", path: str = "", headers=None
) -> PanelError:
    """The typed exception for an error answer; ``body`` is the decoded JSON (None if not JSON)."""
    if body is None:
        return NotAPanel(
            f"{method} {path} answered HTTP {status} with something other than the "
            "panel's JSON API (is the panel URL right?)",
            status=status,
            method=method,
            path=path,
        )
    entries = parse_entries(body, status)
    if not entries:
        entries = [
            ErrorEntry(code="", status=status, detail=f"HTTP {status} without an error body")
        ]
    cls = _class_for(status, entries)
    return cls(
        status=status,
        entries=entries,
        method=method,
        path=path,
        retry_after=retry_after_seconds(headers) if status == 429 else None,
    )


def describe(exc: BaseException) -> str:
    """One line for an admin: what the panel said, or why it could not be asked."""
    if isinstance(exc, PanelError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


class NotConfigured(PanelError):
    """The plugin has no panel URL or no key for the API a call needs."""
