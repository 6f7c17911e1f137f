"""The API reference page: ReDoc (vendored in ``static/redoc``, MIT) over the live spec."""

from __future__ import annotations

from flask import Blueprint, Response, url_for
from markupsafe import escape

from kernel.rest.framework import API_ROOT

bp = Blueprint(
    "api_reference",
    __name__,
    static_folder="static",
    static_url_path="/static",
    url_prefix=API_ROOT,
)

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>pteroca API reference</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body><redoc spec-url="{spec}"></redoc><script src="{script}"></script></body></html>
"""

# ReDoc styles with inline <style> and runs its search in a worker made from a blob.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; worker-src blob:; connect-src 'self'; "
    "object-src 'none'; base-uri 'self'; frame-ancestors 'none'"
)


@bp.get("/docs")
def reference():
    html = PAGE.format(
        spec=escape(url_for("api-docs.openapi_json")),
        script=escape(url_for("api_reference.static", filename="redoc/redoc.standalone.js")),
    )
    return Response(html, mimetype="text/html", headers={"Content-Security-Policy": CSP})
