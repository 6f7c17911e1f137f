"""The one error type of the support plugin: something a person can fix, with its HTTP status."""

from __future__ import annotations


class SupportError(ValueError):
    """Refused input or action; the message is shown as is, ``status`` is the answer's code
    (400 bad input, 403 not allowed, 404 not found, 409 the ticket's state, 413 too large)."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status
