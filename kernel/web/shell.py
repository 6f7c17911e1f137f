"""What the shell gathers from plugins: menus, widgets, slots, assets, health."""

from __future__ import annotations

from typing import Any

from flask import render_template, request
from flask_login import current_user
from markupsafe import Markup, escape

from kernel.hooks import answers, collect, report_failure


def _order(item: dict) -> tuple[float, str]:
    order = item.get("order", 100)
    if isinstance(order, bool) or not isinstance(order, (int, float)):
        order = 100  # a plugin's odd "order" must not break the sort of everyone's items
    return order, str(item.get("label") or item.get("title"))


def _sorted(items: list[dict]) -> list[dict]:
    return sorted(items, key=_order)


# Each list below comes from :func:`kernel.hooks.collect`: a plugin whose hook raises, or
# answers something else than a list of the expected items, leaves its part empty.


def _badge(value: Any) -> str:
    """A menu item's ``badge`` as shown: a count above zero (99+ at most) or a short text."""
    if isinstance(value, bool) or value is None:
        return ""
    if isinstance(value, int):
        return "" if value <= 0 else ("99+" if value > 99 else str(value))
    return str(value)[:8] if isinstance(value, str) else ""


def _with_badges(items: list[dict]) -> list[dict]:
    return [{**item, "badge": _badge(item.get("badge"))} for item in items]


def client_menu_items(user) -> list[dict[str, Any]]:
    return _with_badges(_sorted(collect("client_menu_items", dict, user=user)))


def admin_menu_items(user) -> list[dict[str, Any]]:
    items = collect("admin_menu_items", dict, user=user)
    return _with_badges(
        _sorted(
            [
                i
                for i in items
                if not i.get("permission")
                or (user.is_authenticated and user.has_permission(i["permission"]))
            ]
        )
    )


def client_menu() -> list[dict[str, Any]]:
    """The client menu for the signed-in user (the template helper ``client_menu()``)."""
    return client_menu_items(current_user._get_current_object())


def admin_menu() -> list[dict[str, Any]]:
    """The admin menu for the signed-in user (the template helper ``admin_menu()``)."""
    return admin_menu_items(current_user._get_current_object())


def dashboard_widgets(user) -> list[dict[str, Any]]:
    return _sorted(collect("dashboard_widgets", dict, user=user))


def render_slot(slot: str, **context) -> Markup:
    """HTML from every plugin for ``slot``; plain strings are escaped, Markup is trusted.

    A plugin whose ``template_slots`` raises or answers something else than a string adds
    nothing; the rest of the slot and the page render.
    """
    parts = []
    for name, part, error in answers("template_slots", slot=slot, context=context):
        if error is not None or part is None or part == "":
            continue
        if not isinstance(part, str):
            report_failure(
                name,
                "template_slots",
                TypeError(f"template_slots must return a string, not {part!r:.200}"),
            )
            continue
        parts.append(part if isinstance(part, Markup) else escape(part))
    return Markup("").join(reversed(parts))  # in registration order, as the page always had


def render_fragment(template: str, **context: Any) -> Markup:
    """A template rendered as a piece of HTML for a slot, widget or menu: it autoescapes every
    value like any page, so the result is safe to insert as is (plugins need not mark
    strings safe themselves)."""
    return Markup(render_template(template, **context))


def extra_css_urls() -> list[str]:
    return collect("extra_css_urls", str, request=request)


def extra_js_urls() -> list[str]:
    return collect("extra_js_urls", str, request=request)
