"""The globals a theme template sees instead of Flask's ``request``, ``session``, ``g``,
``config`` and ``current_user``.

Flask hands templates the live request, the session, ``g`` and the whole app config;
a theme needs none of that. It gets plain copies of what a layout uses (the current
path for the active menu item, the query arguments, a few settings) and the signed-in
user, whose model declares the fields a template may read (``__template_fields__``).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from flask import current_app, has_request_context, request
from flask_login import current_user

# The configuration keys a template may read; everything else is absent.
PUBLIC_CONFIG_KEYS = ("BASE_URL", "SAFE_MODE", "TESTING", "DEBUG")
EMPTY: Mapping[str, Any] = MappingProxyType({})
_CONFIG_KEY = "pteroca_public_config"


class RequestView:
    """What a layout may know about the request being answered (read when asked: most
    pages use ``path`` only). The request itself stays out of reach: ``_request`` is a
    private name, which no template can use."""

    __template_fields__ = (
        "method",
        "path",
        "full_path",
        "url",
        "base_url",
        "url_root",
        "host",
        "scheme",
        "is_secure",
        "endpoint",
        "blueprint",
        "args",
        "view_args",
    )

    def __init__(self, req):
        self._request = req

    method = property(lambda self: self._request.method)
    path = property(lambda self: self._request.path)
    full_path = property(lambda self: self._request.full_path)
    url = property(lambda self: self._request.url)
    base_url = property(lambda self: self._request.base_url)
    url_root = property(lambda self: self._request.url_root)
    host = property(lambda self: self._request.host)
    scheme = property(lambda self: self._request.scheme)
    is_secure = property(lambda self: self._request.is_secure)
    endpoint = property(lambda self: self._request.endpoint or "")
    blueprint = property(lambda self: self._request.blueprint or "")

    @property
    def args(self) -> dict[str, str]:
        return self._request.args.to_dict()  # a copy: first values, plain strings

    @property
    def view_args(self) -> dict[str, Any]:
        return {
            k: v
            for k, v in (self._request.view_args or {}).items()
            if isinstance(v, (str, int, float, bool))
        }


def public_config(config: Mapping) -> Mapping[str, Any]:
    """``config`` as theme templates see it: the keys in ``PUBLIC_CONFIG_KEYS`` only."""
    return MappingProxyType({k: config[k] for k in PUBLIC_CONFIG_KEYS if k in config})


def public_values() -> dict[str, Any]:
    """The replacements for Flask's template globals in a theme template's context."""
    app = current_app._get_current_object()
    config = app.extensions.get(_CONFIG_KEY)
    if config is None:  # the public keys do not change under a running app
        config = app.extensions[_CONFIG_KEY] = public_config(app.config)
    if not has_request_context():
        return {
            "request": None,
            "session": EMPTY,
            "g": EMPTY,
            "config": config,
            "current_user": None,
        }
    return {
        "request": RequestView(request._get_current_object()),
        "session": EMPTY,
        "g": EMPTY,
        "config": config,
        "current_user": current_user._get_current_object(),
    }
