"""Permission codes: the kernel's own plus those plugins add with ``register_permissions``."""

from __future__ import annotations

from functools import wraps

from flask import abort, current_app
from flask_login import current_user

KERNEL_PERMISSIONS: list[tuple[str, str]] = [
    ("admin.access", "Open the admin area"),
    ("admin.plugins", "Scan, enable, disable and configure plugins"),
    ("admin.users", "Manage users and roles"),
    ("admin.settings", "Change site settings"),
    ("admin.themes", "Choose and create themes"),
    ("admin.logs", "Read the audit log and the email log"),
    ("admin.payments", "See payments, refund them and adjust wallet balances"),
    ("admin.jobs", "See background job queues, retry and delete failed jobs"),
    ("admin.privacy", "Erase customers' personal data and see erasure requests"),
    ("admin.impersonate", "Sign in as a customer to see what they see (audited; never staff)"),
]


def all_permissions() -> dict[str, str]:
    """Every known permission code -> description, for the current app's plugin set."""
    from kernel.hooks import answers, report_failure

    out: dict[str, str] = {}
    for plugin, pairs, error in answers("register_permissions"):
        if error is not None:
            continue  # logged and counted: its permissions are simply not offered
        try:
            found = {str(code): str(description) for code, description in pairs or []}
        except (TypeError, ValueError) as exc:
            report_failure(
                plugin,
                "register_permissions",
                TypeError(f"register_permissions must return (code, description) pairs: {exc}"),
            )
            continue
        out.update(found)
    return out


def has_permission(user, code: str) -> bool:
    return bool(user and user.is_authenticated and user.has_permission(code))


def permission_required(code: str):
    """View decorator: 401 for anonymous users (login redirect), 403 without ``code``."""

    def decorate(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            if not current_user.is_authenticated:
                return current_app.login_manager.unauthorized()
            if not current_user.has_permission(code):
                abort(403)
            return view(*args, **kwargs)

        return wrapper

    return decorate


def can_grant(actor, permissions) -> bool:
    """True when ``actor`` holds every permission in ``permissions`` (``*`` only with ``*``):
    nobody grants, or acts on an account holding, a permission they do not hold themselves."""
    held = set(actor.role.permissions if actor.role else [])
    return "*" in held or ("*" not in permissions and set(permissions) <= held)


def users_with_permission(code: str, *, include_blocked: bool = False) -> list:
    """Every account whose role grants ``code`` (``*`` grants all), by email: the staff a
    plugin notifies, assigns work to or shows staff-only content to."""
    from kernel.accounts.models import Role, User
    from kernel.extensions import db

    roles = [
        role.name
        for role in db.session.scalars(db.select(Role))
        if "*" in (role.permissions or []) or code in (role.permissions or [])
    ]
    if not roles:
        return []
    query = db.select(User).where(User.role_name.in_(roles)).order_by(User.email)
    if not include_blocked:
        query = query.where(User.is_blocked.is_(False))
    return list(db.session.scalars(query))
