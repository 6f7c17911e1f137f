"""Which language a page is rendered in: the user's choice, else the browser's, else English."""

from __future__ import annotations

from flask import has_request_context, request
from flask_login import current_user

from kernel.accounts.models import LANGUAGES

DEFAULT_LANGUAGE = "en"


def select_locale() -> str:
    if not has_request_context():
        return DEFAULT_LANGUAGE
    try:
        chosen = getattr(current_user, "language", "") if current_user.is_authenticated else ""
    except Exception:  # noqa: BLE001 - no login manager or no database yet
        chosen = ""
    if chosen in LANGUAGES:
        return chosen
    return request.accept_languages.best_match(list(LANGUAGES)) or DEFAULT_LANGUAGE
