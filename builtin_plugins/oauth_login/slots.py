"""What oauth_login adds to the kernel's pages through template slots (plain data only)."""

from __future__ import annotations

from typing import Any

from flask import render_template
from flask_login import current_user
from markupsafe import Markup

from . import identities
from .providers import configured, label

VERBS = {"login": "Log in with", "register": "Sign up with"}


def _buttons(providers: list[dict[str, str]], *, verb: str, next_url: str, heading: str = ""):
    return Markup(
        render_template(
            "oauth_login/buttons.html",
            providers=providers,
            verb=verb,
            next=next_url or "",
            heading=heading,
        )
    )


def render(slot: str, context: dict[str, Any]) -> Markup | None:
    if slot == "login_methods":
        providers = [{"key": p.key, "label": p.label} for p in configured().values()]
        page = context.get("page", "login")
        return _buttons(
            providers,
            verb=VERBS.get(page, VERBS["login"]),
            next_url=str(context.get("next") or ""),
            heading="or",
        )
    if slot == "account_sections" and current_user.is_authenticated:
        return account_card(current_user)
    if slot == "reauthenticate" and current_user.is_authenticated:
        available = configured()
        mine = [
            {"key": row.provider, "label": available[row.provider].label}
            for row in identities.of_user(current_user.id)
            if row.provider in available
        ]
        return _buttons(mine, verb="Log in again with", next_url=str(context.get("next") or ""))
    return None


def account_card(user) -> Markup:
    available = configured()
    linked = {row.provider: row for row in identities.of_user(user.id)}
    keys = list(available) + [key for key in linked if key not in available]
    rows = [
        {
            "key": key,
            "label": label(key),
            "linked": key in linked,
            "username": linked[key].username or linked[key].email if key in linked else "",
            "available": key in available,
        }
        for key in keys
    ]
    if not rows:
        return Markup("")
    return Markup(
        render_template(
            "oauth_login/account.html",
            rows=rows,
            has_password=user.has_password,
            can_unlink=identities.can_unlink(user),
        )
    )
