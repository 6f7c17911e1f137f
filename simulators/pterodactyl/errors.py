"""Errors the simulated panel answers with, shaped as the panel shapes them
(docs/reference/pterodactyl_api.md §2.4 "Error format and order of checks").

Every error becomes ``{"errors": [{"code", "status" (a string), "detail", "meta"?}]}``;
``code`` is the short PHP class name the real panel would report.
"""

from __future__ import annotations

from typing import Any

NOT_FOUND = "The requested resource could not be found on the server."
CLIENT_SERVER_NOT_FOUND = "The requested resource does not exist on this server."
CHILD_NOT_FOUND = "The requested resource was not found for this server."
UNAUTHORIZED = "This action is unauthorized."
GENERIC_500 = "An unexpected error was encountered while processing this request, please try again."
DAEMON_UNREACHABLE = (
    "Could not establish a connection to the machine running this server. Please try again."
)


class ApiError(Exception):
    """An error answer: HTTP status, one or more ``errors[]`` entries, optional extra headers."""

    def __init__(
        self,
        status: int,
        code: str,
        detail: str,
        *,
        meta: dict | None = None,
        headers: dict[str, str] | None = None,
        entries: list[dict[str, Any]] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail
        self.headers = dict(headers or {})
        if entries is None:
            entry: dict[str, Any] = {"code": code, "status": str(status), "detail": detail}
            if meta:
                entry["meta"] = meta
            entries = [entry]
        self.entries = entries

    def body(self) -> dict[str, Any]:
        return {"errors": self.entries}


class ValidationFailed(ApiError):
    """422 ``ValidationException``: one entry per failed rule message."""

    def __init__(self, failures: list[tuple[str, str, str]]) -> None:
        entries = [
            {
                "code": "ValidationException",
                "status": "422",
                "detail": message,
                "meta": {"source_field": field, "rule": rule},
            }
            for field, rule, message in failures
        ]
        super().__init__(422, "ValidationException", failures[0][2], entries=entries)
        self.failures = failures


def not_found(detail: str = NOT_FOUND) -> ApiError:
    return ApiError(404, "NotFoundHttpException", detail)


def forbidden(detail: str = UNAUTHORIZED) -> ApiError:
    return ApiError(403, "AccessDeniedHttpException", detail)


def http_forbidden(detail: str) -> ApiError:
    return ApiError(403, "HttpForbiddenException", detail)


def bad_request(detail: str) -> ApiError:
    return ApiError(400, "BadRequestHttpException", detail)


def display(detail: str, code: str = "DisplayException", status: int = 400) -> ApiError:
    """A business-rule failure (``DisplayException`` or one of its subclasses)."""
    return ApiError(status, code, detail)


def state_conflict(detail: str) -> ApiError:
    return ApiError(409, "ServerStateConflictException", detail)


def daemon_unreachable() -> ApiError:
    """Wings did not answer: the panel's ``DaemonConnectionException`` with a 504."""
    return ApiError(504, "DaemonConnectionException", DAEMON_UNREACHABLE)


def server_error(code: str = "QueryException", detail: str = GENERIC_500) -> ApiError:
    return ApiError(500, code, detail)
