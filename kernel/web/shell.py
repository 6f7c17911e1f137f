"""What the shell gathers from plugins: menus, widgets, slots, assets, health."""

from __future__ import annotations

import time
from typing import Any

from flask import current_app, request
from flask_login import current_user
from markupsafe import Markup, escape
from sqlalchemy import text

from kernel.extensions import db


def _host():
    return current_app.extensions["pteroca"]


def _flatten(results) -> list:
    return [item for result in results if result for item in result]


def _sorted(items: list[dict]) -> list[dict]:
    return sorted(items, key=lambda i: (i.get("order", 100), str(i.get("label") or i.get("title"))))


def client_menu_items(user) -> list[dict[str, Any]]:
    return _sorted(_flatten(_host().pm.hook.client_menu_items(user=user)))


def admin_menu_items(user) -> list[dict[str, Any]]:
    items = _flatten(_host().pm.hook.admin_menu_items(user=user))
    return _sorted([i for i in items if not i.get("permission")
                    or (user.is_authenticated and user.has_permission(i["permission"]))])


def client_menu() -> list[dict[str, Any]]:
    """The client menu for the signed-in user (the template helper ``client_menu()``)."""
    return client_menu_items(current_user._get_current_object())


def admin_menu() -> list[dict[str, Any]]:
    """The admin menu for the signed-in user (the template helper ``admin_menu()``)."""
    return admin_menu_items(current_user._get_current_object())


def dashboard_widgets(user) -> list[dict[str, Any]]:
    return _sorted(_flatten(_host().pm.hook.dashboard_widgets(user=user)))


def render_slot(slot: str, **context) -> Markup:
    """HTML from every plugin for ``slot``; plain strings are escaped, Markup is trusted."""
    parts = _host().pm.hook.template_slots(slot=slot, context=context)
    return Markup("").join(p if isinstance(p, Markup) else escape(p) for p in reversed(parts) if p)


def extra_css_urls() -> list[str]:
    return _flatten(_host().pm.hook.extra_css_urls(request=request))


def extra_js_urls() -> list[str]:
    return _flatten(_host().pm.hook.extra_js_urls(request=request))


def run_health_checks() -> dict[str, dict[str, str]]:
    """Run every plugin health check: ``{plugin: {check: "ok" | problem}}``."""
    out: dict[str, dict[str, str]] = {}
    for impl in _host().pm.hook.health_checks.get_hookimpls():
        for name, check in impl.function() or []:
            try:
                problem = check()
            except Exception as exc:  # noqa: BLE001 - a failing check is a result, not a crash
                problem = f"{type(exc).__name__}: {exc}"
            out.setdefault(impl.plugin_name, {})[name] = problem or "ok"
    return out


def health_report() -> dict[str, Any]:
    host = _host()
    started = time.perf_counter()
    try:
        db.session.execute(text("SELECT 1"))
        database = "ok"
    except Exception as exc:  # noqa: BLE001
        database = f"down: {type(exc).__name__}"
    checks = run_health_checks() if database == "ok" else {}
    failing = {p: c for p, c in checks.items() if any(v != "ok" for v in c.values())}
    return {
        "status": "ok" if database == "ok" else "down",
        "database": database,
        "plugin_generation": host.generation,
        "plugins_loaded": sorted(host.loaded),
        "plugin_problems": host.problems,
        "plugin_health": checks,
        "degraded": sorted(failing),
        "elapsed_ms": round((time.perf_counter() - started) * 1000, 1),
    }
