"""Which declared capability each hook needs: the one table the loader and the scan share.

A plugin lists capabilities in ``plugin.toml``; every hook it implements must be
covered. Hooks added by other plugins (``register_hookspecs``) are declared by
their own name, e.g. ``capabilities = ["register_provisioners"]``.
"""

from __future__ import annotations

HOOK_CAPABILITY: dict[str, str] = {
    "startup": "lifecycle",
    "plugin_enabled": "lifecycle",
    "plugin_disabled": "lifecycle",
    "register_blueprints": "routes",
    "register_api_blueprints": "api",
    "register_webhook_events": "api",
    "template_slots": "templates",
    "extra_css_urls": "assets",
    "extra_js_urls": "assets",
    "client_menu_items": "menus",
    "admin_menu_items": "menus",
    "dashboard_widgets": "widgets",
    "error_page": "templates",
    "migrations_dir": "models",
    "register_admin_views": "admin",
    "register_permissions": "permissions",
    "register_cron_tasks": "cron",
    "register_commands": "commands",
    "health_checks": "health",
    "demo_seed": "demo",
    "audit_labels": "labels",
    "register_payment_providers": "payments",
    "topup_adjustment": "payments",
    "register_hookspecs": "hookspecs",
    "user_registered": "events",
    "user_logged_in": "events",
    "veto_registration": "vetoes",
    "veto_login": "vetoes",
    "payment_settled": "events",
    "payment_refunded": "events",
    "wallet_changed": "events",
    "user_updated": "events",
    "user_password_changed": "passwords",
    "before_email_send": "outgoing_mail",
    "veto_wallet_credit": "vetoes",
    "personal_data": "privacy",
    "erase_personal_data": "privacy",
}

KNOWN_CAPABILITIES = frozenset(HOOK_CAPABILITY.values())

# Capabilities that hand a plugin secrets of other people: declaring one is a HIGH finding of
# the scan, so the admin confirms it at enable time like any other HIGH risk.
SENSITIVE_CAPABILITIES: dict[str, str] = {
    "passwords": "receives every new password in plain text (user_password_changed)",
    "outgoing_mail": "reads and can change every outgoing email, password reset links "
    "included (before_email_send)",
}


def required_capability(hook_name: str) -> str:
    """The capability a plugin must declare to implement ``hook_name``."""
    return HOOK_CAPABILITY.get(hook_name, hook_name)


def uncovered_hooks(hook_names, declared) -> list[str]:
    """Hooks in ``hook_names`` whose capability is not in ``declared`` (sorted)."""
    declared = set(declared)
    return sorted(h for h in set(hook_names) if required_capability(h) not in declared)
