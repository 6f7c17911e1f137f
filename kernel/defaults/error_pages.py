"""The panel's 403 and 404 pages: the fallback of the ``error_page`` hook."""

from __future__ import annotations

from flask import render_template
from flask_babel import gettext as _
from werkzeug.exceptions import HTTPException

from kernel import hookimpl


def _message(code: int) -> str | None:
    if code == 403:
        return _("You do not have permission to open this page.")
    if code == 404:
        return _("This page does not exist.")
    return None


@hookimpl(trylast=True)
def error_page(code: int, error: HTTPException) -> str | None:
    message = _message(code)
    if message is None:
        return None
    return render_template("errors/error.html", code=code, message=message)
