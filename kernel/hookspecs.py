"""The kernel's hooks: the whole plugin contract.

Every hook is called with keyword arguments; an implementation may accept any
subset of them. The kernel calls them through :mod:`kernel.hooks`, one implementation at a
time inside its plugin's error boundary; vetoes (and ``topup_adjustment``) ask every plugin
until one refuses, ``firstresult`` hooks stop at the first non-None answer.
Each hook is documented in ``docs/plugins.md`` and exercised by a test.
"""

from __future__ import annotations

import inspect

from kernel import hookspec

# --- deprecations ------------------------------------------------------------
# The contract changes only through deprecation. A hook (or an argument of one) that is going
# away keeps being called until the release named in ``removal`` (never before the next major
# version), and pluggy warns every plugin implementing it when the plugin is registered, with
# the warning pointing at the plugin's own function:
#
#     @hookspec(warn_on_impl=deprecated("the hook old_name", since="0.3", removal="1.0",
#                                       instead="implement new_name(user) instead"))
#     def old_name(user):
#         """Deprecated: ..."""
#
#     @hookspec(warn_on_impl_args={"request": deprecated(
#         "the request argument of extra_css_urls", since="0.3", removal="1.0",
#         instead="use flask.request")})
#     def extra_css_urls(request): ...
#
# docs/plugins.md marks the hook "Deprecated" in its reference entry (a test checks it).


class HookDeprecationWarning(FutureWarning):
    """A plugin implements a deprecated hook or hook argument.

    A FutureWarning rather than a DeprecationWarning so that Python shows it by default:
    the admin running the plugin learns before an upgrade breaks it, not only its author.
    """


def deprecated(what: str, *, since: str, removal: str, instead: str) -> HookDeprecationWarning:
    """The warning for ``warn_on_impl`` / ``warn_on_impl_args`` of a deprecated hook or argument."""
    return HookDeprecationWarning(
        f"{what} is deprecated since pteroca {since} and will be removed in {removal}; {instead}"
    )


def deprecations(specs: object | None = None) -> dict[str, list[str]]:
    """Deprecated hooks and arguments among ``specs`` (default: the kernel's): hook -> messages."""
    import sys

    source = sys.modules[__name__] if specs is None else specs
    found: dict[str, list[str]] = {}
    for name, fn in inspect.getmembers(source, inspect.isroutine):
        options = getattr(fn, "pteroca_spec", None)
        if not options:
            continue
        messages = [str(options["warn_on_impl"])] if options.get("warn_on_impl") else []
        messages += [str(w) for w in (options.get("warn_on_impl_args") or {}).values()]
        if messages:
            found[name] = messages
    return found


# --- lifecycle -------------------------------------------------------------


@hookspec
def startup(app):
    """Called once per built app after all plugins are registered; raise to mark the plugin faulted."""


@hookspec
def plugin_enabled(name):
    """Event: plugin ``name`` was enabled (called on the plugins loaded after the change)."""


@hookspec
def plugin_disabled(name):
    """Event: plugin ``name`` was disabled (called on the plugins that were loaded before it)."""


# --- web -------------------------------------------------------------------


@hookspec
def register_blueprints(app):
    """Return a list of Flask blueprints to register (plugin pages live under /plugins/<name>/)."""


@hookspec
def register_api_blueprints():
    """Return a list of ``kernel.ApiBlueprint`` whose endpoints join /api/v1 and its OpenAPI document."""


@hookspec
def register_webhook_events():
    """Return a list of ``(event, description)`` pairs this plugin emits to outgoing webhooks (``kernel.emit_webhook``)."""


@hookspec
def template_slots(slot, context):
    """Return HTML (str or Markup) to insert into the named template ``slot``, or None."""


@hookspec
def extra_css_urls(request):
    """Return a list of stylesheet URLs to link from every panel page."""


@hookspec
def extra_js_urls(request):
    """Return a list of script URLs to load (deferred) on every panel page."""


@hookspec
def client_menu_items(user):
    """Return a list of menu items ``{"label", "url", "icon"?, "order"?, "badge"?}`` for the client area."""


@hookspec
def admin_menu_items(user):
    """Return a list of menu items ``{"label", "url", "permission"?, "order"?, "badge"?}`` for the admin area."""


@hookspec
def dashboard_widgets(user):
    """Return a list of widgets ``{"title", "html", "order"?, "width"?}`` for the client dashboard."""


@hookspec(firstresult=True)
def error_page(code, error):
    """Return the page (HTML or a response) for HTTP error ``code`` (403, 404), or None to pass."""


# --- data ------------------------------------------------------------------


@hookspec(firstresult=True)
def migrations_dir():
    """Return the folder holding this plugin's Alembic ``versions/`` (default: <package>/migrations)."""


# --- admin -----------------------------------------------------------------


@hookspec
def register_admin_views(admin):
    """Return a list of Flask-Admin view instances to add to the admin area."""


@hookspec
def register_permissions():
    """Return a list of ``(code, description)`` permission pairs this plugin checks."""


# --- operations --------------------------------------------------------------


@hookspec
def register_cron_tasks():
    """Return a list of :class:`kernel.cron.CronTask` (name, 5-field schedule, callable, description)."""


@hookspec
def register_commands(cli):
    """Add click commands or groups to the ``pteroca`` CLI group ``cli``."""


@hookspec
def demo_seed(admin, customer):
    """Fill a new ``pteroca demo`` instance with sample data; return lines to print (or None)."""


@hookspec
def audit_labels():
    """Return ``{action: label}``: words (lazy_gettext, translated) for the audit and activity events this plugin records."""


@hookspec
def health_checks():
    """Return a list of ``(name, callable)``; the callable returns None when healthy or raises/returns a problem string."""


# --- money -----------------------------------------------------------------


@hookspec
def register_payment_providers():
    """Return a list of payment provider objects (see docs/plugins.md, "Payment providers")."""


@hookspec
def topup_adjustment(user, amount, form):
    """Return ``{"charge"?, "credit"?, "meta"?}`` to change a top-up of ``amount`` started with the submitted ``form``, a reason string to refuse it, or None."""


# --- extension -------------------------------------------------------------


@hookspec
def register_hookspecs():
    """Return a list of modules or classes holding this plugin's own hookspecs (marked ``kernel.hookspec``)."""


# --- events ----------------------------------------------------------------


@hookspec
def user_registered(user):
    """Event: a new user account was created."""


@hookspec
def user_logged_in(user):
    """Event: ``user`` logged in."""


@hookspec
def payment_settled(payment):
    """Event: a payment was settled (credited to the wallet) exactly once."""


@hookspec
def payment_refunded(payment, amount, refund_id, kind):
    """Event: ``amount`` minor units of a settled ``payment`` went back to the customer once per ``refund_id`` (``kind``: "refund" or "chargeback"), committed."""


@hookspec
def wallet_changed(user, entry):
    """Event: ``user``'s balance moved by the ledger ``entry`` (already committed)."""


@hookspec
def user_updated(user, changes):
    """Event: ``user``'s profile changed; ``changes`` maps field -> (old, new) (name, language, email)."""


@hookspec
def user_password_changed(user, password):
    """Event: ``user`` set a new password (change or reset); ``password`` is the new plain text: never store or log it."""


@hookspec
def before_email_send(message):
    """Event: modify the outgoing ``email.message.EmailMessage`` in place before it is delivered."""


# --- privacy ---------------------------------------------------------------


@hookspec
def personal_data(user):
    """Return ``{area: JSON-serialisable data}``: what this plugin keeps about ``user``, for their data export."""


@hookspec
def erase_personal_data(user):
    """Erase or anonymise what this plugin keeps about ``user`` (idempotent; raise to have the erasure retried)."""


# --- vetoes ----------------------------------------------------------------


@hookspec
def veto_registration(email, name):
    """Return a reason string to refuse creating an account for ``email``, or None (False, "") to allow it."""


@hookspec
def veto_login(user):
    """Return a reason string to refuse a login by ``user``, or None to allow it."""


@hookspec
def veto_wallet_credit(user, amount, reference):
    """Return a reason string to refuse crediting ``amount`` minor units to ``user``, or None."""
