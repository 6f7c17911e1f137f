"""The admin overview: money and customers over 30 days, plugin status, health and scan
verdicts, users, audit, system info. The figures come from ``kernel.payments.reports``; plugins
add theirs (the store: active servers, servers due for renewal) through the ``admin_overview``
template slot."""

from __future__ import annotations

import platform
from importlib.metadata import PackageNotFoundError, version

from flask import current_app
from flask_admin import expose
from flask_login import current_user
from sqlalchemy import func

from kernel import __version__, site_settings
from kernel.admin.base import ProtectedIndexView
from kernel.extensions import db
from kernel.payments import reports
from kernel.payments.money import exponent

FIGURE_DAYS = 30


def _version(dist: str) -> str:
    try:
        return version(dist)
    except PackageNotFoundError:
        return "?"


def user_counts() -> dict[str, int]:
    from kernel.accounts.models import User

    by_role = dict(
        db.session.execute(db.select(User.role_name, func.count()).group_by(User.role_name)).all()
    )
    return {
        "total": sum(by_role.values()),
        "blocked": db.session.scalar(db.select(func.count()).where(User.is_blocked)) or 0,
        "by_role": by_role,
    }


def recent_audit(limit: int = 10):
    from kernel.models import AuditLog

    return db.session.scalars(db.select(AuditLog).order_by(AuditLog.id.desc()).limit(limit)).all()


def system_info() -> dict[str, str]:
    from kernel.generation import read_generation

    url = db.engine.url
    state = current_app.extensions.get("pteroca_theme")
    return {
        "pteroca": __version__,
        "Python": platform.python_version(),
        "Flask": _version("flask"),
        "SQLAlchemy": _version("sqlalchemy"),
        "Flask-Admin": _version("flask-admin"),
        "Database": f"{url.get_backend_name()} ({url.database or url.host or ''})"
        if url.get_backend_name() == "sqlite"
        else f"{url.get_backend_name()} on {url.host}",
        "Plugin generation": str(read_generation()),
        "Safe mode": "on" if current_app.config.get("SAFE_MODE") else "off",
        "Active theme": state.active.name if state else "default",
    }


class OverviewView(ProtectedIndexView):
    @expose("/")
    def index(self):
        from kernel.health import run_health_checks
        from kernel.plugin_lifecycle.services import list_plugins

        plugins = health = audit = None
        if current_user.has_permission("admin.plugins"):
            plugins = list_plugins()
            health = run_health_checks()
        if current_user.has_permission("admin.logs"):
            audit = recent_audit()
        currency = site_settings.get("currency")
        figures = reports.overview(FIGURE_DAYS)
        if not current_user.has_permission("admin.payments"):
            figures = {
                **figures,
                "topups": None,
                "spending": None,
                "totals": {"new_customers": figures["totals"]["new_customers"]},
            }
        return self.render(
            "admin/pteroca/overview.html",
            plugins=plugins,
            health=health,
            audit=audit,
            users=user_counts(),
            system=system_info(),
            figures=figures,
            currency=currency,
            scale=10 ** exponent(currency),
        )
