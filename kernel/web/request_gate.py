"""What every request must be before a view sees it: small enough, plain text, sane ids.

* **Size.** A body over ``PTEROCA_MAX_REQUEST_BYTES`` (default 4 MiB) gets 413 before a
  byte of it is read: by its ``Content-Length``, or, for a chunked body, as soon as
  reading passes the cap. A view takes a different limit only by declaring it with
  :func:`request_body_limit` (the plugin upload: its archive limit plus room for the form;
  a support ticket: its attachment settings; a payment webhook: less).
* **Text.** Query strings, URL parts, form fields and JSON bodies go through
  ``kernel.inputs`` (no control characters; JSON nested at most 32 deep, and an object at
  the top): one rule for every field of every form, the kernel's and the plugins'. A
  refusal is a 400 that names the field. Provider webhooks are checked at their own
  route (their raw body is what the signature covers).
* **Ids.** ``<int:...>`` in a route matches 0 to 2^31 - 1 only (what an integer column
  holds on PostgreSQL); anything larger is a 404, not an overflow in the database driver.

The gate runs first among the request hooks, before the CSRF check reads the form.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import TypeVar

from flask import Flask, abort, jsonify, render_template, request
from flask_babel import gettext as _
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.routing import IntegerConverter

from kernel.inputs import InputError, check_text, parse_json

View = TypeVar("View", bound=Callable)

MiB = 1024 * 1024
DEFAULT_MAX_REQUEST_BYTES = 4 * MiB
UPLOAD_ENDPOINT = "plugins.upload"  # kernel/admin/plugins.py: PluginsView.upload
UPLOAD_FORM_SLACK = MiB  # multipart boundaries and the CSRF field around the archive
CHECKED_AT_THEIR_ROUTE = frozenset({"payment_webhooks"})  # blueprints with raw bodies
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
MAX_ID = 2**31 - 1  # a PostgreSQL INTEGER, what every id column of pteroca is


class BoundedIntegerConverter(IntegerConverter):
    """``<int:x>`` within a database integer (0 .. 2^31 - 1 unless the rule says)."""

    def __init__(self, map, fixed_digits=0, min=None, max=None, signed=False):  # noqa: A002
        super().__init__(
            map,
            fixed_digits=fixed_digits,
            min=min,
            max=MAX_ID if max is None else max,
            signed=signed,
        )


BODY_LIMIT_ATTR = "pteroca_body_limit"


def request_body_limit(limit: int | Callable[[], int]) -> Callable[[View], View]:
    """Decorator: the view accepts request bodies up to ``limit`` bytes instead of
    ``PTEROCA_MAX_REQUEST_BYTES``: an int, or a callable asked on each request (inside the
    app context, before the view; settings can decide). Put it under ``@route``/``@expose``.
    Bigger bodies get 413 before a byte is read; the view still checks each file itself."""
    if not (
        callable(limit) or (isinstance(limit, int) and not isinstance(limit, bool) and limit >= 0)
    ):
        raise TypeError("request_body_limit takes a byte count (int >= 0) or a callable")

    def decorate(view: View) -> View:
        setattr(view, BODY_LIMIT_ATTR, limit)
        return view

    return decorate


def body_limit(app: Flask, endpoint: str | None) -> int:
    """The largest body ``endpoint`` accepts, in bytes."""
    default = int(app.config["MAX_REQUEST_BYTES"])
    if endpoint == UPLOAD_ENDPOINT:
        from kernel.plugin_lifecycle.upload import Limits

        return Limits.from_config(app.config).archive_bytes + UPLOAD_FORM_SLACK
    declared = getattr(app.view_functions.get(endpoint or ""), BODY_LIMIT_ATTR, None)
    if declared is None:
        return default
    try:
        value = declared() if callable(declared) else declared
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise TypeError(f"not a byte count: {value!r}")
        return value
    except Exception as exc:  # noqa: BLE001 - a plugin's limit must not break the request
        app.logger.warning(
            "request body limit of %s failed (%s: %s); using the default %s",
            endpoint,
            type(exc).__name__,
            exc,
            _human(default),
        )
        return default


def _human(size: int) -> str:
    return f"{size / MiB:g} MiB" if size >= MiB else f"{size // 1024} KiB"


def _wants_json() -> bool:
    return request.is_json or request.accept_mimetypes.best == "application/json"


def _refuse(status: int, message: str):
    if request.path.startswith("/api/"):
        abort(status, description=message)  # answered in the API's error shape (kernel/rest)
    if _wants_json():
        return jsonify(ok=False, error=message), status
    return render_template("errors/error.html", code=status, message=message), status


def _chunked() -> bool:
    return "chunked" in request.headers.get("Transfer-Encoding", "").lower() and bool(
        request.environ.get("wsgi.input_terminated")
    )


def _buffer_chunked_body(limit: int) -> None:
    """A body without a length: read at most ``limit`` + 1 bytes of it, 413 beyond.
    (Werkzeug would cut such a body at the limit without a word: a form would lose its
    end.) What fits is handed on as a body of known length."""
    environ = request.environ
    data = environ["wsgi.input"].read(limit + 1)
    if len(data) > limit:
        raise RequestEntityTooLarge()
    environ["wsgi.input"] = io.BytesIO(data)
    environ.pop("HTTP_TRANSFER_ENCODING", None)
    environ["CONTENT_LENGTH"] = str(len(data))


def _check_request():
    from flask import current_app

    limit = body_limit(current_app, request.endpoint)
    request.max_content_length = limit
    if request.content_length is not None and request.content_length > limit:
        raise RequestEntityTooLarge()
    if request.content_length is None and _chunked():
        _buffer_chunked_body(limit)
    if request.blueprint in CHECKED_AT_THEIR_ROUTE:
        return None
    try:
        for key, value in request.args.items(multi=True):
            check_text(key, key)
            check_text(value, key)
        for key, value in (request.view_args or {}).items():
            if isinstance(value, str):
                check_text(value, key)
        if request.mimetype in FORM_TYPES:
            for key, value in request.form.items(multi=True):
                check_text(key, key)
                check_text(value, key)
        elif request.is_json and request.content_length != 0:
            if not isinstance(parse_json(request.get_data(cache=True)), dict):
                raise InputError(_("The request body must be a JSON object."))
    except InputError as exc:
        return _refuse(400, str(exc))
    return None


def init_request_gate(app: Flask) -> None:
    """Install the gate (first request hook) and the bounded ``int`` converter.

    Call before any route is added: converters apply when a rule is added.
    """
    app.config["MAX_CONTENT_LENGTH"] = int(app.config["MAX_REQUEST_BYTES"])  # Flask's own check
    app.url_map.converters["int"] = BoundedIntegerConverter
    app.before_request_funcs.setdefault(None, []).insert(0, _check_request)

    @app.errorhandler(RequestEntityTooLarge)
    def _too_large(exc):
        limit = body_limit(app, request.endpoint)
        return _refuse(
            413,
            _("The request is too large: at most %(limit)s is accepted here.", limit=_human(limit)),
        )
