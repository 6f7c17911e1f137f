"""The globals a theme template sees instead of Flask's ``request``, ``session``, ``g``,
``config`` and ``current_user``.

Flask hands templates the live request, the session, ``g`` and the whole app config;
a theme needs none of that. It gets plain copies of what a layout uses (the current
path for the active menu item, the query arguments, a few settings) and the signed-in
user, whose model declares the fields a template may read (``__template_fields__``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from flask import current_app, has_request_context, request
from flask_login import current_user

# The configuration keys a template may read; everything else is absent.
PUBLIC_CONFIG_KEYS = ("BASE_URL", "SAFE_MODE", "TESTING", "DEBUG")
EMPTY: Mapping[str, Any] = MappingProxyType({})
OVERRIDDEN = ("request", "session", "g", "config", "current_user")


@dataclass(frozen=True)
class RequestView:
    """What a layout may know about the request being answered."""

    method: str
    path: str
    full_path: str
    url: str
    base_url: str
    url_root: str
    host: str
    scheme: str
    is_secure: bool
    endpoint: str
    blueprint: str
    args: dict[str, str]
    view_args: dict[str, Any]

    @classmethod
    def current(cls) -> RequestView:
        view_args = {k: v for k, v in (request.view_args or {}).items()
                     if isinstance(v, (str, int, float, bool))}
        return cls(method=request.method, path=request.path, full_path=request.full_path,
                   url=request.url, base_url=request.base_url, url_root=request.url_root,
                   host=request.host, scheme=request.scheme, is_secure=request.is_secure,
                   endpoint=request.endpoint or "", blueprint=request.blueprint or "",
                   args=request.args.to_dict(), view_args=view_args)


def public_config(config: Mapping) -> Mapping[str, Any]:
    """``config`` as theme templates see it: the keys in ``PUBLIC_CONFIG_KEYS`` only."""
    return MappingProxyType({k: config[k] for k in PUBLIC_CONFIG_KEYS if k in config})


def public_values(app=None) -> dict[str, Any]:
    """The replacements for Flask's template globals in a theme template's context."""
    app = app or current_app._get_current_object()
    user = None
    if has_request_context():
        user = current_user._get_current_object()
    return {"request": RequestView.current() if has_request_context() else None,
            "session": EMPTY, "g": EMPTY, "config": public_config(app.config),
            "current_user": user}
