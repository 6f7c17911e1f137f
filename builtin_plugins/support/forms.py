"""Reading the submitted forms of the support pages (the customer's and the staff's alike)."""

from __future__ import annotations

from flask import request

from builtin_plugins.support.attachments import Upload
from builtin_plugins.support.errors import SupportError


def uploads() -> list[Upload]:
    """The files of the ``files`` field; an empty file input sends one nameless part."""
    return [Upload(f.filename or "", f.stream) for f in request.files.getlist("files")]


def form_id(name: str) -> int | None:
    """An id chosen in a select: None when left empty, 400 when it is not a number."""
    value = request.form.get(name, "").strip()
    if not value:
        return None
    if not value.isdigit():
        raise SupportError(f"{name}: choose one of the options offered")
    return int(value)
