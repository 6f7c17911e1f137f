"""Words a person reads for audit and activity events: ``user.2fa_enabled`` -> "Two-factor
authentication switched on".

One registry: the kernel's own labels below, plus what enabled plugins answer to the
``audit_labels`` hook (``{action: label}``, lazy_gettext strings so they follow the reader's
language). An action nobody labelled still reads as words (``hello_world.welcome_back`` ->
"Welcome back"), never as a raw key. Templates call ``event_label(action)``; Python code
calls :func:`label_for` (public as ``kernel.audit_label``).
"""

from __future__ import annotations

import re
from typing import Any

from flask import current_app, has_app_context, has_request_context
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l

KERNEL_LABELS: dict[str, Any] = {
    "user.login": _l("Logged in"),
    "user.logout": _l("Logged out"),
    "user.login_failed": _l("Failed login attempt"),
    "user.login_refused": _l("Login refused"),
    "user.created": _l("Account created"),
    "user.registered": _l("Registered"),
    "user.email_verified": _l("Email address confirmed"),
    "user.verification_sent": _l("Confirmation email sent"),
    "user.password_changed": _l("Password changed"),
    "user.password_reset_requested": _l("Password reset requested"),
    "user.password_reset": _l("Password reset"),
    "user.email_change_requested": _l("Email change requested"),
    "user.email_change_cancelled": _l("Email change cancelled"),
    "user.email_changed": _l("Email address changed"),
    "user.profile_updated": _l("Profile updated"),
    "user.session_ended": _l("Session ended"),
    "user.2fa_enabled": _l("Two-factor authentication switched on"),
    "user.2fa_disabled": _l("Two-factor authentication switched off"),
    "user.2fa_failed": _l("Wrong two-factor code"),
    "user.2fa_recovery_code_used": _l("Recovery code used"),
    "user.2fa_recovery_codes_renewed": _l("New recovery codes created"),
    "user.updated": _l("Account updated by staff"),
    "user.password_reset_unknown": _l("Password reset asked for an unknown address"),
    "payment.started": _l("Top-up started"),
    "payment.settled": _l("Top-up paid"),
    "payment.refunded": _l("Payment refunded"),
    "payment.reversed": _l("Payment taken back"),
    "payment.reinstated": _l("Payment returned"),
    "wallet.adjusted": _l("Balance adjusted by staff"),
    "wallet.debt_opened": _l("Amount owed"),
    "wallet.debt_written_off": _l("Amount owed written off"),
    "privacy.export_requested": _l("Data export requested"),
    "privacy.export_ready": _l("Data export ready"),
    "privacy.export_downloaded": _l("Data export downloaded"),
    "privacy.erasure_requested": _l("Account deletion requested"),
    "privacy.erasure_cancelled": _l("Account deletion cancelled"),
    "privacy.erasure_rescheduled": _l("Account deletion postponed"),
    "privacy.erasure_failed": _l("Account deletion failed"),
    "privacy.erased": _l("Account deleted"),
    "privacy.logs_pruned": _l("Old logs removed"),
    "plugin.enabled": _l("Plugin enabled"),
    "plugin.disabled": _l("Plugin disabled"),
    "plugin.uploaded": _l("Plugin uploaded"),
    "plugin.uninstalled": _l("Plugin uninstalled"),
    "plugin.scanned": _l("Plugin scanned"),
    "plugin.scan_blocked": _l("Plugin blocked by the scan"),
    "plugin.blocked": _l("Plugin blocked"),
    "plugin.risk_accepted": _l("Plugin risk accepted"),
    "plugin.settings_changed": _l("Plugin settings changed"),
    "role.created": _l("Role created"),
    "role.deleted": _l("Role deleted"),
    "settings.changed": _l("Site settings changed"),
    "settings.test_email": _l("Test email sent"),
    "theme.activated": _l("Theme activated"),
    "theme.created": _l("Theme created"),
}

_PREFIX = re.compile(r"^[a-z0-9_]+[.:]")


def humanize(action: str) -> str:
    """Words for an action nobody labelled: the plugin prefix off, separators as spaces."""
    words = _PREFIX.sub("", action, count=1).replace("_", " ").replace(".", " ").strip()
    return (words[:1].upper() + words[1:]) if words else action


_CACHE = "pteroca_audit_labels"
# action -> the words shown, per language: what label_for() answered before, so a page of
# activity does not evaluate a lazily translated label per entry.
_WORDS = "pteroca_audit_words"
MAX_WORDS = 10_000  # actions come from stored rows; a bound keeps odd ones from piling up


def _language() -> str:
    return str(get_locale()) if has_request_context() else ""


def registry() -> dict[str, Any]:
    """Every labelled action: the kernel's, then the enabled plugins'. Asked of the plugins
    once per app (an app is rebuilt whenever the enabled plugins change) and language (a
    plugin may answer plain strings in the reader's language), unless one of them failed:
    then again on the next request, so the failure is reported each time, as before."""
    if not has_app_context():
        return _collect()[0]
    return _registry(current_app.extensions, _language())


def _registry(extensions: dict, locale: str) -> dict[str, Any]:
    cache = extensions.setdefault(_CACHE, {})
    found = cache.get(locale)
    if found is None:
        found, failed = _collect()
        if not failed:
            cache[locale] = found
    return found


def _collect() -> tuple[dict[str, Any], bool]:
    from kernel.hooks import answers, report_failure

    found: dict[str, Any] = dict(KERNEL_LABELS)
    failed = False
    for plugin, labels, error in answers("audit_labels"):
        if error is not None:
            failed = True
            continue
        if not labels:
            continue
        if not isinstance(labels, dict):
            report_failure(
                plugin, "audit_labels", TypeError("audit_labels must return {action: label}")
            )
            failed = True
            continue
        for action, label in labels.items():
            found.setdefault(str(action), label)  # a plugin cannot relabel the kernel's events
    return found, failed


def _words_for(labels: dict[str, Any], action: Any) -> str:
    label = labels.get(action)
    return str(label) if label is not None else humanize(str(action))


def label_for(action: str) -> str:
    """What a person reads for ``action``, in the current language.

    Remembered per app and language once the registry is (a label's words depend on nothing
    else: the app's catalogs are fixed, and a plugin change builds a new app); while a plugin's
    ``audit_labels`` fails, nothing is remembered, so the failure is reported again."""
    if not has_app_context():
        return _words_for(_collect()[0], action)
    extensions = current_app.extensions
    locale = _language()
    words = extensions.setdefault(_WORDS, {}).setdefault(locale, {})
    if isinstance(action, str):
        known = words.get(action)
        if known is not None:
            return known
    labels = _registry(extensions, locale)
    text = _words_for(labels, action)
    if isinstance(action, str) and extensions[_CACHE].get(locale) is labels:
        if len(words) >= MAX_WORDS:
            words.clear()
        words[action] = text
    return text
