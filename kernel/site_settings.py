"""Site-wide settings, declared once and grouped into admin pages.

The admin settings pages are generated from :data:`SCHEMA`; values live in the
``site_setting`` table and fall back to the declared defaults. Plugin settings
use the same :class:`SettingSpec` type and coercion rules.
"""

from __future__ import annotations

from typing import Any

from flask import g
from flask_babel import lazy_gettext as _l
from sqlalchemy import String, Text, select
from sqlalchemy.orm import Mapped, mapped_column

from kernel.extensions import db
from kernel.setting_types import SettingError, SettingSpec, coerce


class SiteSetting(db.Model):
    __tablename__ = "site_setting"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text, default="")


def _s(key, type="string", default=None, label="", description="", choices=()) -> SettingSpec:
    return SettingSpec(
        key=key,
        type=type,
        default=default,
        label=label or key.replace("_", " ").capitalize(),
        description=description,
        choices=tuple(choices),
    )


# group -> ordered settings. Keys are unique across groups.
SCHEMA: dict[str, list[SettingSpec]] = {
    "general": [
        _s("site_name", default="pteroca", label=_l("Site name")),
        _s(
            "currency",
            "choice",
            "USD",
            _l("Site currency"),
            _l("ISO 4217 code; every price and balance uses it."),
            ("USD", "EUR", "GBP", "PLN"),
        ),
        _s(
            "motd", "text", "", _l("Message of the day"), _l("Shown on every customer's dashboard.")
        ),
        _s(
            "landing_enabled",
            "bool",
            True,
            _l("Public landing page"),
            _l("When off, / sends visitors to the login page."),
        ),
        _s("registration_enabled", "bool", True, _l("Allow registration")),
        _s(
            "terms_url",
            "url",
            "",
            _l("Terms of service URL"),
            _l("Linked from the registration form."),
        ),
    ],
    "security": [
        _s(
            "email_verification",
            "choice",
            "optional",
            _l("Email verification"),
            _l("required: unverified accounts cannot buy or top up."),
            ("disabled", "optional", "required"),
        ),
        _s(
            "require_2fa_roles",
            "string",
            "",
            _l("Roles that must use 2FA"),
            _l("Comma-separated role names, e.g. admin,support."),
        ),
        _s("min_password_length", "int", 10, _l("Minimum password length")),
        _s(
            "plugin_failure_threshold",
            "int",
            10,
            _l("Fault a plugin after this many failures in a row"),
            _l(
                "A plugin hook that raises this many times in a row is switched off (faulted) on "
                "every server; 0 never faults one."
            ),
        ),
    ],
    "payments": [
        _s(
            "payment_check_minutes",
            "int",
            15,
            _l("Check open payments after (minutes)"),
            _l(
                "A top-up still open this long (no webhook, no return) is checked with its provider, "
                "then again at growing intervals."
            ),
        ),
        _s(
            "payment_expire_hours",
            "int",
            72,
            _l("Give up on open payments after (hours)"),
            _l("A top-up the provider still calls unpaid this long is marked expired."),
        ),
    ],
    "privacy": [
        _s(
            "erasure_grace_days",
            "int",
            14,
            _l("Days before a requested account deletion is carried out"),
            _l(
                "The customer can cancel until then; their servers keep running meanwhile. 0 erases "
                "at the next run of the privacy task."
            ),
        ),
        _s(
            "export_link_hours",
            "int",
            72,
            _l("Hours a data export can be downloaded"),
            _l("The ZIP is deleted afterwards."),
        ),
        _s(
            "audit_log_retention_days",
            "int",
            365,
            _l("Keep audit log entries for (days)"),
            _l("Older entries are deleted every night; 0 keeps them forever."),
        ),
        _s(
            "email_log_retention_days",
            "int",
            90,
            _l("Keep email log entries for (days)"),
            _l("Older entries are deleted every night; 0 keeps them forever."),
        ),
        _s(
            "webhook_delivery_retention_days",
            "int",
            30,
            _l("Keep outgoing webhook deliveries for (days)"),
            _l(
                "Older deliveries (their bodies hold the events' data) are deleted every night, "
                "except those still waiting for a retry; 0 keeps them forever."
            ),
        ),
    ],
    "email": [
        _s("mail_from", "email", "no-reply@localhost", _l("From address")),
        _s("mail_from_name", "string", "pteroca", _l("From name")),
    ],
    "appearance": [
        _s("active_theme", "string", "default", _l("Active theme")),
    ],
}

SPECS: dict[str, SettingSpec] = {spec.key: spec for specs in SCHEMA.values() for spec in specs}
# Counts of days or hours: a negative one is refused with the setting's name.
NON_NEGATIVE = frozenset(
    {
        "erasure_grace_days",
        "export_link_hours",
        "audit_log_retention_days",
        "email_log_retention_days",
        "webhook_delivery_retention_days",
    }
)


class _Cache:
    """What this app context (a request, a CLI command, a cron run) read: every stored
    value, loaded by one query on the first ``get``, and the values coerced so far."""

    __slots__ = ("stored", "values")

    def __init__(self) -> None:
        self.stored: dict[str, str] | None = None
        self.values: dict[str, Any] = {}

    def clear(self) -> None:
        self.stored = None
        self.values.clear()


def _cache() -> _Cache:
    cache = g.get("_site_settings")
    if cache is None:
        cache = g._site_settings = _Cache()
    return cache


# Built once: every request reads the settings (see kernel/web/widgets.py's _RECENT).
_ALL_STORED = select(SiteSetting.key, SiteSetting.value)


def get(key: str) -> Any:
    cache = _cache()
    try:
        return cache.values[key]
    except KeyError:
        pass
    spec = SPECS[key]
    if cache.stored is None:  # one query for all of them: a page reads several
        cache.stored = dict(db.session.execute(_ALL_STORED).all())
    raw = cache.stored.get(key)
    value = cache.values[key] = spec.default if raw is None else coerce(spec, raw)
    return value


def get_group(group: str) -> dict[str, Any]:
    return {spec.key: get(spec.key) for spec in SCHEMA[group]}


def set_many(values: dict[str, Any]) -> dict[str, Any]:
    """Validate every value first, then store them all; return what changed (old, new)."""
    cleaned = {}
    for key, raw in values.items():
        spec = SPECS.get(key)
        if spec is None:
            raise SettingError(f"there is no setting {key!r}")
        cleaned[key] = coerce(spec, raw)
        if key in NON_NEGATIVE and cleaned[key] is not None and cleaned[key] < 0:
            raise SettingError(f"{spec.label} cannot be negative")
    changed = {}
    for key, value in cleaned.items():
        old = get(key)
        if old == value:
            continue
        row = db.session.get(SiteSetting, key) or SiteSetting(key=key)
        row.value = (
            "" if value is None else str(value).lower() if SPECS[key].type == "bool" else str(value)
        )
        db.session.add(row)
        changed[key] = (old, value)
    db.session.commit()
    _cache().clear()
    return changed
