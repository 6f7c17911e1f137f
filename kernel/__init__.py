"""The pteroca kernel package: the public plugin API, and nothing else.

What it exports (:data:`__all__`): ``__version__``; the pluggy markers ``hookimpl`` and
``hookspec``; ``create_app``, the app factory; and the names of the :data:`_API` table (``db``,
``call_hook``, ``settings_for``, ``ledger_credit``, ``send_email``, ``now``, ...), each an
attribute of a private kernel module, listed with its stability promise in ``docs/plugins.md``,
"The public API". :func:`api_reference` gives each name's one-line description. A plugin imports
them as ``from kernel import db, hookimpl, settings_for``; everything in ``kernel``'s submodules
is private and may change in any release (an import-linter contract keeps the builtin plugins,
and the scaffold's generated project, on this surface).

Nothing is imported eagerly: a name of the table is resolved on first use (PEP 562), so
``import kernel`` stays cheap for the CLI. A renamed or retired name keeps working for at least
one minor release through :data:`_DEPRECATED`, with a :class:`HookDeprecationWarning` pointing
at the importer.
"""

from __future__ import annotations

__version__ = "0.1.0"

import importlib
import warnings
from typing import TYPE_CHECKING, Any

import pluggy

hookimpl = pluggy.HookimplMarker("pteroca")
hookspec = pluggy.HookspecMarker("pteroca")


def create_app(config: dict | None = None) -> Flask:
    """Build the Flask application (see :mod:`kernel.app`)."""
    from kernel.app import create_app as _create_app

    return _create_app(config)


# name -> (module, attribute, one line saying what it is). The table is the contract: the docs
# list the same names (a test checks), and nothing else of the kernel is public.
_API: dict[str, tuple[str, str, str]] = {
    # --- the plugin contract
    "db": (
        "kernel.extensions",
        "db",
        "The Flask-SQLAlchemy instance: models subclass db.Model, queries use db.session.",
    ),
    "commit_keeping": (
        "kernel.extensions",
        "commit_keeping",
        "Commit without expiring loaded objects (rows the transaction wrote and still holds).",
    ),
    "read_only": (
        "kernel.extensions",
        "read_only",
        "View decorator: a GET/HEAD that only reads runs in parallel on SQLite.",
    ),
    "HookDeprecationWarning": (
        "kernel.hookspecs",
        "HookDeprecationWarning",
        "Warning for a deprecated hook, hook argument or API name.",
    ),
    "deprecated": (
        "kernel.hookspecs",
        "deprecated",
        "The warning to pass to hookspec(warn_on_impl=...) for your own hookspecs.",
    ),
    # --- calling hooks (each plugin's implementation in its error boundary)
    "call_hook": (
        "kernel.hooks",
        "call_hook",
        "Call every implementation of a hook, each in its error boundary.",
    ),
    "collect": (
        "kernel.hooks",
        "collect",
        "The items of a hook whose implementations return lists; bad answers dropped.",
    ),
    "call_veto": (
        "kernel.hooks",
        "call_veto",
        "Ask every implementation of a veto hook; the first refusal's reason or None.",
    ),
    "call_first": (
        "kernel.hooks",
        "call_first",
        "The first non-None answer of a hook (implementations that raise skipped).",
    ),
    "plugin_manager": (
        "kernel.plugins.host",
        "plugin_manager",
        "The current app's pluggy PluginManager (read-only use: has_plugin, ...).",
    ),
    # --- settings
    "settings_for": (
        "kernel.plugins.settings",
        "settings_for",
        "A plugin's effective settings: environment, then stored, then default.",
    ),
    "set_settings": (
        "kernel.plugins.settings",
        "set_settings",
        "Validate and store a plugin's settings (by plugin name).",
    ),
    "SettingSpec": (
        "kernel.setting_types",
        "SettingSpec",
        "One declared setting: key, type, default, label, choices, bounds (minimum, maximum).",
    ),
    "SettingError": (
        "kernel.setting_types",
        "SettingError",
        "A setting value its type refuses; the message is shown to the user.",
    ),
    "coerce_setting": (
        "kernel.setting_types",
        "coerce",
        "Turn a raw value into a SettingSpec's type, or raise SettingError.",
    ),
    "site_setting": (
        "kernel.site_settings",
        "get",
        "A site-wide setting by key (currency, site_name, ...).",
    ),
    # --- money (integer minor units of the site currency)
    "MoneyError": (
        "kernel.payments.money",
        "MoneyError",
        "An amount that cannot be parsed or used; the message is shown to the user.",
    ),
    "parse_amount": (
        "kernel.payments.money",
        "parse_amount",
        'Minor units from what a person typed ("12.50") in a currency.',
    ),
    "format_amount": (
        "kernel.payments.money",
        "format_amount",
        'Minor units shown with their currency ("12.50 USD").',
    ),
    "to_decimal_string": (
        "kernel.payments.money",
        "to_decimal_string",
        'Minor units as a provider\'s decimal string ("12.50").',
    ),
    "from_decimal_string": (
        "kernel.payments.money",
        "from_decimal_string",
        "Minor units from a provider's decimal string, exactly.",
    ),
    "percent_of": (
        "kernel.payments.money",
        "percent_of",
        "A percentage of an amount in minor units, rounded half up.",
    ),
    # --- users
    "User": (
        "kernel.accounts.models",
        "User",
        "The account model; public fields: id, email, name, role_name, language, ...",
    ),
    "users_with_permission": (
        "kernel.accounts.permissions",
        "users_with_permission",
        "The accounts whose role grants a permission code (staff lists).",
    ),
    "AccountError": (
        "kernel.accounts.services",
        "AccountError",
        "An account action refused; the message is shown to the user as is.",
    ),
    "register_account": (
        "kernel.accounts.signup",
        "register",
        "Self-service sign-up with the site's rules; password=None: no password.",
    ),
    "verified_required": (
        "kernel.accounts.verification",
        "verified_required",
        "View decorator: refuse an action to an unconfirmed address (required mode).",
    ),
    "verification_refusal": (
        "kernel.accounts.verification",
        "verification_refusal",
        "Why a user may not do a gated action yet (unconfirmed email), or None.",
    ),
    "gate_action": (
        "kernel.accounts.verification",
        "gate_action",
        "Name a plugin's own action that needs a confirmed email address.",
    ),
    "complete_login": (
        "kernel.accounts.login_flow",
        "complete_login",
        "Finish any login method: blocked, veto_login, 2FA; the redirect to send.",
    ),
    # --- the wallet ledger
    "wallet_balance": ("kernel.payments.ledger", "balance", "A user's wallet balance."),
    "ledger_credit": (
        "kernel.payments.ledger",
        "credit",
        "Credit a wallet once per reference (veto_wallet_credit is asked).",
    ),
    "ledger_debit": (
        "kernel.payments.ledger",
        "debit",
        "Debit a wallet once per reference; never below zero.",
    ),
    "lock_wallet": (
        "kernel.payments.ledger",
        "lock_wallet",
        "Serialise one user's money operations until the transaction ends.",
    ),
    "notify_wallet_changed": (
        "kernel.payments.ledger",
        "changed",
        "Fire wallet_changed for an entry posted with commit=False.",
    ),
    "LedgerEntry": (
        "kernel.payments.models",
        "LedgerEntry",
        "One ledger movement: user_id, amount (signed), kind, reference, meta.",
    ),
    "Posted": (
        "kernel.payments.ledger",
        "Posted",
        "What a credit or debit returns: the entry, and whether it is new.",
    ),
    "InsufficientFunds": (
        "kernel.payments.ledger",
        "InsufficientFunds",
        "A debit the balance cannot cover.",
    ),
    "CreditRefused": (
        "kernel.payments.ledger",
        "CreditRefused",
        "A credit a veto_wallet_credit hook refused; the message is the reason.",
    ),
    # --- payment providers
    "PaymentProvider": (
        "kernel.payments.providers",
        "PaymentProvider",
        "Protocol of what register_payment_providers returns.",
    ),
    "CheckoutProvider": (
        "kernel.payments.providers",
        "CheckoutProvider",
        "Protocol of a provider that takes money (checkout, status, webhook).",
    ),
    "Checkout": (
        "kernel.payments.providers",
        "Checkout",
        "A created checkout: the provider's id and where to send the customer.",
    ),
    "SessionStatus": (
        "kernel.payments.providers",
        "SessionStatus",
        "A checkout's status as the provider reports it.",
    ),
    "WebhookEvent": (
        "kernel.payments.providers",
        "WebhookEvent",
        "One normalised webhook event (paid, failed, expired, refunded).",
    ),
    "ProviderError": (
        "kernel.payments.providers",
        "ProviderError",
        "The provider refused or could not be reached; safe to show an admin.",
    ),
    "WebhookError": (
        "kernel.payments.providers",
        "WebhookError",
        "A webhook that is not authentic or not understood (answered 400).",
    ),
    "Payment": (
        "kernel.payments.models",
        "Payment",
        "A top-up payment (payment_settled's argument).",
    ),
    "PAID": ("kernel.payments.providers", "PAID", "Checkout status: paid."),
    "OPEN": ("kernel.payments.providers", "OPEN", "Checkout status: still open."),
    "FAILED": ("kernel.payments.providers", "FAILED", "Checkout status: failed."),
    "EXPIRED": ("kernel.payments.providers", "EXPIRED", "Checkout status: expired."),
    "REFUNDED": ("kernel.payments.providers", "REFUNDED", "Webhook event kind: money refunded."),
    "REVERSED": (
        "kernel.payments.providers",
        "REVERSED",
        "Webhook event kind: money taken back (chargeback, reversal, lost dispute).",
    ),
    "REINSTATED": (
        "kernel.payments.providers",
        "REINSTATED",
        "Webhook event kind: money taken back earlier is returned (dispute won).",
    ),
    "WebhookReceipt": (
        "kernel.payments.providers",
        "WebhookReceipt",
        "What accept_webhook learned from a delivery without the network.",
    ),
    "provider_payments_export": (
        "kernel.payments.provider_privacy",
        "provider_payments_export",
        "A provider plugin's personal_data: the user's payments there.",
    ),
    "clear_checkout_links": (
        "kernel.payments.provider_privacy",
        "clear_checkout_links",
        "A provider plugin's erasure: clear the user's hosted checkout links.",
    ),
    "request_key": (
        "kernel.payments.providers",
        "request_key",
        "A stable idempotency key for one provider call about a payment.",
    ),
    "debt_refusal": (
        "kernel.payments.debts",
        "refusal",
        "Why a user may not buy or renew now (they owe money), or None.",
    ),
    # --- operations
    "CronTask": (
        "kernel.cron",
        "CronTask",
        "A scheduled task: name, 5-field UTC schedule, callable, description.",
    ),
    "current_cron_run": (
        "kernel.cron",
        "current_run",
        "(task name, slot) while a cron task runs: an idempotency key.",
    ),
    "enqueue": (
        "kernel.jobs",
        "enqueue",
        "Run a module-level function with JSON arguments as a background job.",
    ),
    "job": ("kernel.jobs", "job", "Decorator: a job's default queue, retries and backoff."),
    "Retry": ("kernel.jobs", "Retry", "Retry policy of one enqueue call: max tries and backoff."),
    "JobError": ("kernel.jobs", "JobError", "A job operation was refused; the message says why."),
    "shared_redis": (
        "kernel.jobs",
        "shared_redis",
        "The site's Redis client (one pool per process), or None without PTEROCA_REDIS_URL.",
    ),
    "outbox_add": (
        "kernel.outbox",
        "add",
        "Add a job to the caller's transaction: written with the change, run after it.",
    ),
    "outbox_commit": (
        "kernel.outbox",
        "commit",
        "Commit the session, then hand over the outbox jobs it added.",
    ),
    "outbox_dispatch_committed": (
        "kernel.outbox",
        "dispatch_committed",
        "Hand over the outbox jobs of a transaction you committed.",
    ),
    "record_audit": (
        "kernel.audit",
        "record",
        "Append an audit log entry: action, target, details, actor.",
    ),
    "audit_label": (
        "kernel.audit_labels",
        "label_for",
        "Words a person reads for an audit or activity event (plugins add labels).",
    ),
    "record_audit_many": (
        "kernel.audit",
        "record_many",
        "Append one audit entry per (target, details) in one INSERT.",
    ),
    "send_email": (
        "kernel.mail",
        "send_email",
        "Render a theme email template, attach files, send it (never raises; logged).",
    ),
    "sent_email_keys": (
        "kernel.mail",
        "sent_keys",
        "Which once-only email keys (send_email(key=...)) went out already.",
    ),
    "now": ("kernel.clock", "now", "The current UTC time (naive) that business rules see."),
    # --- admin and web
    "PermissionMixin": (
        "kernel.admin.base",
        "PermissionMixin",
        "Admin view mixin: admin.access plus the view's own permission.",
    ),
    "PerPageMixin": (
        "kernel.admin.keyset",
        "PerPageMixin",
        "Admin list mixin: ?per_page= from 10 to 200 (a bad value is a 400 with the reason).",
    ),
    "KeysetListMixin": (
        "kernel.admin.keyset",
        "KeysetListMixin",
        "Admin list mixin: newest first by id, paged by before/after cursors, no count.",
    ),
    "PagingError": (
        "kernel.paging",
        "PagingError",
        "A malformed ?per_page=, ?before= or ?after= (its message says what to fix).",
    ),
    "page_size_arg": (
        "kernel.paging",
        "per_page",
        "The page size in a request's ?per_page= (10..200), or the default; PagingError if bad.",
    ),
    "KeysetPage": (
        "kernel.paging",
        "KeysetPage",
        "One page of a cursor-paged list: items, per_page, newer and older cursors, first.",
    ),
    "keyset_page": (
        "kernel.paging",
        "fetch",
        "One page of a query, newest first by id, from the request's cursor: one statement.",
    ),
    "keyset_page_sorted": (
        "kernel.paging",
        "fetch_sorted",
        "One page of a query in a (columns, id) order from a row-id cursor the filters check.",
    ),
    "keyset_page_url": (
        "kernel.paging",
        "page_url",
        "This request's URL with filters kept and the paging arguments replaced.",
    ),
    "ProtectedBaseView": (
        "kernel.admin.base",
        "ProtectedBaseView",
        "A Flask-Admin BaseView behind PermissionMixin.",
    ),
    "FormField": (
        "kernel.admin.forms",
        "Field",
        "A form field generated from a SettingSpec (admin forms).",
    ),
    "is_secret_setting": (
        "kernel.admin.forms",
        "is_secret",
        "True for a write-only (secret) setting.",
    ),
    "read_form": (
        "kernel.admin.forms",
        "read_form",
        "The values a submitted form of FormFields changes.",
    ),
    "with_submitted": (
        "kernel.admin.forms",
        "with_submitted",
        "FormFields refilled with what was submitted (to show errors).",
    ),
    "csp_nonce": (
        "kernel.web.headers",
        "csp_nonce",
        "This response's Content-Security-Policy nonce for inline scripts.",
    ),
    "content_security_policy": (
        "kernel.web.headers",
        "content_security_policy",
        "The panel's Content-Security-Policy header for a nonce.",
    ),
    "render_markdown": (
        "kernel.markdown",
        "render_markdown",
        "Markdown a person typed, as sanitised HTML (Markup): nothing runs.",
    ),
    "render_fragment": (
        "kernel.web.shell",
        "render_fragment",
        "A template rendered (autoescaped) as HTML for a slot or widget.",
    ),
    "request_body_limit": (
        "kernel.web.request_gate",
        "request_body_limit",
        "View decorator: accept bodies up to N bytes (or a callable's N).",
    ),
    # --- the REST API (docs/api.md)
    "ApiBlueprint": (
        "kernel.rest.framework",
        "ApiBlueprint",
        "flask-smorest Blueprint for register_api_blueprints; views declare .scope().",
    ),
    "ApiDateTime": (
        "kernel.rest.schemas",
        "ApiDateTime",
        "marshmallow field: a pteroca time as RFC 3339 UTC (...Z) in API answers.",
    ),
    "ApiError": (
        "kernel.rest.errors",
        "ApiError",
        "Raise in an API view: status, message, field errors in the API's error shape.",
    ),
    "emit_webhook": (
        "kernel.webhooks.services",
        "emit",
        "Send an event (declared by register_webhook_events) to subscribed webhooks.",
    ),
    "idempotency_key": (
        "kernel.rest.idempotency",
        "claim",
        "The request's Idempotency-Key, checked against its body (422 on reuse).",
    ),
}

# Retired or renamed names: old -> (new name, warning). Kept for at least one minor release.
_DEPRECATED: dict[str, tuple[str, Warning]] = {}

__all__ = sorted({"__version__", "create_app", "hookimpl", "hookspec", *_API})


def __getattr__(name: str) -> Any:
    entry = _API.get(name)
    if entry is None:
        moved = _DEPRECATED.get(name)
        if moved is None:
            raise AttributeError(f"module 'kernel' has no attribute {name!r}")
        warnings.warn(moved[1], stacklevel=2)
        return __getattr__(moved[0])
    module, attribute, _doc = entry
    value = getattr(importlib.import_module(module), attribute)
    globals()[name] = value  # the next lookup is a plain module attribute
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_API))


def api_reference() -> dict[str, str]:
    """Every public name with its one-line description (docs and tests read it)."""
    fixed = {
        "__version__": "The kernel's version (PEP 440).",
        "create_app": "Build the Flask application (the app factory).",
        "hookimpl": "Marker for a plugin's hook implementations.",
        "hookspec": "Marker for hook specifications (a plugin's own hookspecs).",
    }
    return {**fixed, **{name: doc for name, (_m, _a, doc) in _API.items()}}


if TYPE_CHECKING:  # what type checkers and IDEs see; at run time __getattr__ resolves them
    from flask import Flask

    from kernel.accounts.login_flow import complete_login
    from kernel.accounts.models import User
    from kernel.accounts.permissions import users_with_permission
    from kernel.accounts.services import AccountError
    from kernel.accounts.signup import register as register_account
    from kernel.accounts.verification import gate_action, verification_refusal, verified_required
    from kernel.admin.base import PermissionMixin, ProtectedBaseView
    from kernel.admin.forms import Field as FormField
    from kernel.admin.forms import is_secret as is_secret_setting
    from kernel.admin.forms import read_form, with_submitted
    from kernel.audit import record as record_audit
    from kernel.audit import record_many as record_audit_many
    from kernel.audit_labels import label_for as audit_label
    from kernel.clock import now
    from kernel.cron import CronTask
    from kernel.cron import current_run as current_cron_run
    from kernel.extensions import commit_keeping, db, read_only
    from kernel.hooks import call_first, call_hook, call_veto, collect
    from kernel.hookspecs import HookDeprecationWarning, deprecated
    from kernel.jobs import JobError, Retry, enqueue, job
    from kernel.mail import send_email
    from kernel.mail import sent_keys as sent_email_keys
    from kernel.markdown import render_markdown
    from kernel.outbox import add as outbox_add
    from kernel.outbox import commit as outbox_commit
    from kernel.outbox import dispatch_committed as outbox_dispatch_committed
    from kernel.payments.debts import refusal as debt_refusal
    from kernel.payments.ledger import CreditRefused, InsufficientFunds, Posted, lock_wallet
    from kernel.payments.ledger import balance as wallet_balance
    from kernel.payments.ledger import changed as notify_wallet_changed
    from kernel.payments.ledger import credit as ledger_credit
    from kernel.payments.ledger import debit as ledger_debit
    from kernel.payments.models import LedgerEntry, Payment
    from kernel.payments.money import (
        MoneyError,
        format_amount,
        from_decimal_string,
        parse_amount,
        percent_of,
        to_decimal_string,
    )
    from kernel.payments.provider_privacy import clear_checkout_links, provider_payments_export
    from kernel.payments.providers import (
        EXPIRED,
        FAILED,
        OPEN,
        PAID,
        REFUNDED,
        REINSTATED,
        REVERSED,
        Checkout,
        CheckoutProvider,
        PaymentProvider,
        ProviderError,
        SessionStatus,
        WebhookError,
        WebhookEvent,
        WebhookReceipt,
        request_key,
    )
    from kernel.plugins.host import plugin_manager
    from kernel.plugins.settings import set_settings, settings_for
    from kernel.rest.errors import ApiError
    from kernel.rest.framework import ApiBlueprint
    from kernel.rest.idempotency import claim as idempotency_key
    from kernel.rest.schemas import ApiDateTime
    from kernel.setting_types import SettingError, SettingSpec
    from kernel.setting_types import coerce as coerce_setting
    from kernel.site_settings import get as site_setting
    from kernel.web.headers import content_security_policy, csp_nonce
    from kernel.web.request_gate import request_body_limit
    from kernel.web.shell import render_fragment
    from kernel.webhooks.services import emit as emit_webhook
