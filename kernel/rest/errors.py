"""One JSON error shape for every 4xx and 5xx under ``/api/``.

``{"type": "not_found", "message": "...", "errors": {"field": ["..."]}}``: ``type`` is a
stable word a program can branch on, ``message`` is for people, ``errors`` maps a request
field to what is wrong with it (empty when no field is to blame). The app's HTML error
pages stay for everything else: the handlers registered before the API are wrapped, so a
403 of the client area still renders its page and a 403 of the API answers in JSON.
"""

from __future__ import annotations

import marshmallow as ma
from flask import Flask, current_app, jsonify, request
from werkzeug.exceptions import HTTPException, InternalServerError

API_PREFIX = "/api/"

TYPES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid",
    429: "rate_limited",
}


class ErrorSchema(ma.Schema):
    """The error body (documentation only: errors are built by :func:`error_response`)."""

    type = ma.fields.String(required=True, metadata={"description": "A stable error word"})
    message = ma.fields.String(required=True, metadata={"description": "For people"})
    errors = ma.fields.Dict(
        required=True, metadata={"description": "Request field -> what is wrong with it"}
    )


class ApiError(Exception):
    """Raise from an API view: answered as the error shape with ``status``."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        errors: dict | None = None,
        type: str | None = None,
        headers: dict | None = None,
    ) -> None:  # noqa: A002
        super().__init__(message)
        self.status, self.message = status, message
        self.errors, self.type, self.headers = errors or {}, type, headers or {}


def is_api_request() -> bool:
    return request.path.startswith(API_PREFIX)


def error_response(
    status: int,
    message: str,
    errors: dict | None = None,
    type: str | None = None,
    headers: dict | None = None,
) -> None:  # noqa: A002
    kind = type or TYPES.get(status, "server_error" if status >= 500 else "error")
    response = jsonify(type=kind, message=message, errors=errors or {})
    response.status_code = status
    response.headers.update(headers or {})
    return response


def _field_errors(data: dict | None) -> dict:
    """webargs' ``{"json": {"name": [...]}}`` as ``{"name": [...]}`` (locations merged)."""
    messages = (data or {}).get("messages") or (data or {}).get("errors") or {}
    out: dict = {}
    for location, fields in messages.items():
        if isinstance(fields, dict):
            out.update(fields)
        else:
            out[location] = fields
    return out


def _http_error(exc: HTTPException):
    data = getattr(exc, "data", None)
    errors = _field_errors(data) if isinstance(data, dict) else {}
    message = (data or {}).get("message") if isinstance(data, dict) else None
    if not message:
        message = "The request has invalid fields." if errors else (exc.description or exc.name)
    headers = dict(data.get("headers") or {}) if isinstance(data, dict) else {}
    if exc.code == 405 and exc.valid_methods:
        headers["Allow"] = ", ".join(exc.valid_methods)
    return error_response(exc.code or 500, message, errors, headers=headers)


def _wrap(handler):
    def answer(exc):
        if is_api_request():
            if isinstance(exc, ApiError):
                return error_response(exc.status, exc.message, exc.errors, exc.type, exc.headers)
            if isinstance(exc, InternalServerError) or not isinstance(exc, HTTPException):
                current_app.logger.error(
                    "API error on %s %s",
                    request.method,
                    request.path,
                    exc_info=getattr(exc, "original_exception", None) or exc,
                )
                return error_response(500, "Something went wrong on our side; it was logged.")
            return _http_error(exc)
        return handler(exc)

    answer.__name__ = getattr(handler, "__name__", "answer")
    return answer


def _default(exc):
    return exc  # outside the API: what Flask would have answered without a handler


def install(app: Flask) -> None:
    """Answer API errors in JSON: wrap the app's handlers (after all are registered) and add
    ones for HTTP errors without a handler, for 500 and for :class:`ApiError`."""
    spec = app.error_handler_spec.setdefault(None, {})
    for handlers in spec.values():
        for cls, handler in list(handlers.items()):
            if issubclass(cls, HTTPException):
                handlers[cls] = _wrap(handler)
    known = spec.get(None, {})
    if HTTPException not in known:
        app.register_error_handler(HTTPException, _wrap(_default))
    if InternalServerError not in spec.get(500, {}):
        app.register_error_handler(500, _wrap(_default))
    app.register_error_handler(ApiError, _wrap(_default))
