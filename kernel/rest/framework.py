"""The REST API's framework: flask-smorest, with a scope on every endpoint.

Why flask-smorest (docs/architecture.md, "The REST API"): it attaches to a plain Flask app
with ``init_app`` (APIFlask and flask-openapi3 replace the app class, which is already
``PterocaFlask``), so each app the hot swap builds gets its own ``RestApi`` and the one
OpenAPI document lists exactly the kernel's and the loaded plugins' endpoints of that
generation; it writes OpenAPI 3.1 through apispec; its schemas (marshmallow) validate
input and document it from one declaration.

Every view says which scope it needs with :meth:`ApiBlueprint.scope` (or that it is
public with :meth:`ApiBlueprint.public`); :mod:`kernel.rest.auth` refuses a view that says
neither, so a forgotten declaration closes the endpoint instead of opening it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import flask_smorest
from flask import Flask

from kernel.rest.errors import ErrorSchema, error_response
from kernel.rest.scopes import SCOPES

F = TypeVar("F", bound=Callable[..., Any])

API_VERSION = "1"
API_ROOT = "/api/v1"
SCOPE_ATTR = "pteroca_api_scope"
PUBLIC_ATTR = "pteroca_api_public"
PERMISSION_ATTR = "pteroca_api_permission"
SECURITY_SCHEME = "bearerToken"


class RestApi(flask_smorest.Api):
    """flask-smorest's Api without its app-wide error handler: kernel/rest/errors.py
    answers API errors in the kernel's shape and leaves HTML pages alone."""

    ERROR_SCHEMA = ErrorSchema

    def _register_error_handlers(self) -> None:
        pass


class ApiBlueprint(flask_smorest.Blueprint):
    """A group of API endpoints (``from kernel import ApiBlueprint``); views declare their
    scope with :meth:`scope` under ``@bp.route``."""

    def scope(self, name: str, *, permission: str | None = None) -> Callable[[F], F]:
        """The view needs a token with scope ``name`` (one of :data:`kernel.rest.scopes.SCOPES`)
        and, with ``permission``, an owner whose role holds that permission code too (a
        plugin's own, such as ``store.manage``), checked on every call."""
        if name not in SCOPES:
            raise ValueError(f"unknown API scope {name!r}; known: {', '.join(SCOPES)}")

        def decorate(view):
            setattr(view, SCOPE_ATTR, name)
            setattr(view, PERMISSION_ATTR, permission)
            extra = {"x-scope": name}
            if permission:
                extra["x-permission"] = permission
            return self.doc(security=[{SECURITY_SCHEME: [name]}], **extra)(view)

        return decorate

    def refuses(self, *exceptions: type[Exception], status: int = 422) -> None:
        """An exception of these classes leaving any view of this blueprint is a refused
        request, not a crash: the session is rolled back (nothing half-written is saved) and
        the client gets ``status`` with the exception's message in the API's error shape.
        One declaration instead of a ``try``/``except`` in every view."""

        def refused(exc: Exception):
            from kernel.extensions import db

            db.session.rollback()
            return error_response(status, str(exc))

        for exception in exceptions:
            self.register_error_handler(exception, refused)

    def public(self, view: F) -> F:
        """The view answers without a token (the spec, the reference page)."""
        setattr(view, PUBLIC_ATTR, True)
        return self.doc(security=[])(view)


def scope_of(view) -> str | None:
    return getattr(view, SCOPE_ATTR, None)


def permission_of(view) -> str | None:
    return getattr(view, PERMISSION_ATTR, None)


def is_public(view) -> bool:
    return bool(getattr(view, PUBLIC_ATTR, False))


def make_api(app: Flask) -> RestApi:
    """The app's API: the spec at ``/api/v1/openapi.json`` (OpenAPI 3.1)."""
    app.config.setdefault("API_TITLE", "pteroca API")
    app.config.setdefault("API_VERSION", API_VERSION)
    app.config["OPENAPI_VERSION"] = "3.1.0"
    app.config["OPENAPI_URL_PREFIX"] = API_ROOT
    app.config["OPENAPI_JSON_PATH"] = "openapi.json"
    commands = set(app.cli.commands)
    api = RestApi(
        app,
        spec_kwargs={
            "info": {
                "description": (
                    "The pteroca REST API. Send a token as `Authorization: Bearer <token>`; each "
                    "endpoint names the scope it needs (`x-scope`). Errors share one shape: "
                    "`{type, message, errors}`."
                )
            }
        },
    )
    for name in set(app.cli.commands) - commands:  # flask-smorest's `openapi` commands
        app.cli.commands.pop(name)
    api.spec.components.security_scheme(
        SECURITY_SCHEME,
        {
            "type": "http",
            "scheme": "bearer",
            "description": "A personal or service-account token (pteroca_...)",
        },
    )
    app.extensions["pteroca_api"] = api
    return api
