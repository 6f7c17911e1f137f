"""What every server tab's action shares: the error a customer sees, the panel client,
the permission check, the audit record and the checks of values from forms and URLs.

Every tab function takes an :class:`~.access.Access` (who is asking, on which server)
and checks the permission it needs itself, so views, tests and other callers share one
set of rules. Panel failures come out as :class:`TabError` with a message for the
customer and an HTTP status (never a 500): 409 when the server's state forbids it
(installing, suspended...), 503 when the panel or the node cannot be reached, 400 for a
refused value, 403 for a missing permission, 404 for something that is gone.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, TypeVar

from flask import current_app
from flask_babel import gettext as _

from builtin_plugins.panel_kit import errors
from builtin_plugins.panel_kit.tabs.access import Access
from kernel import record_audit

T = TypeVar("T")

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
MAX_NAME = 191


class TabError(Exception):
    """A tab action failed; ``str()`` is the customer's message, ``status`` the HTTP status.

    ``state`` is set for a 409 from the panel's state gate (installing, suspended...).
    """

    def __init__(self, message: str, status: int = 400, state: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.state = state


def from_panel(access: Access, exc: errors.PanelError) -> TabError:
    """The customer's message for a panel failure (the plugin's, shared by all its pages)."""
    said = access.panel.customer_error(exc)
    return TabError(said.text, said.status, said.state)


def with_client(access: Access, action: Callable[[Any], T], *, quick: bool = True) -> T:
    """Run ``action(client)`` with the access's panel client; panel errors become TabError."""
    try:
        with access.panel.connect(quick) as client:
            return action(client)
    except errors.PanelError as exc:
        raise from_panel(access, exc) from None


def require(access: Access, permission: str) -> None:
    if not access.can(permission):
        raise TabError(_("You do not have permission to do this on this server."), 403)


def config(access: Access) -> Any:
    """The plan's panel settings (the plugin's product config); 503 when misconfigured."""
    try:
        return access.panel.product_config(access.service.product)
    except ValueError as exc:
        current_app.logger.error("product %s is misconfigured: %s", access.service.product_id, exc)
        raise TabError(
            _("This server's plan is misconfigured; please tell our staff."), 503
        ) from None


def record(access: Access, what: str, **details: Any) -> None:
    """Audit-log a change made through the tabs (the panel logs it as the admin key's user)."""
    record_audit(
        f"{access.panel.plugin}.{what}",
        f"service:{access.service.id}",
        {"server": access.identifier, **details},
    )


def text_input(value: Any, label: str, *, required: bool = True, limit: int = MAX_NAME) -> str:
    text = str(value or "").strip()
    if required and not text:
        raise TabError(_("%(field)s is required.", field=label))
    if len(text) > limit:
        raise TabError(_("%(field)s may be at most %(n)d characters long.", field=label, n=limit))
    return text


def flag_input(value: Any) -> bool:
    return str(value or "").strip().lower() in ("1", "on", "true", "yes")


def key_input(value: Any, pattern: re.Pattern, missing: str, *, lower: bool = False) -> str:
    """A panel id from the URL, checked against ``pattern``; ``missing`` (404) otherwise."""
    text = str(value or "").strip()
    text = text.lower() if lower else text
    if not pattern.match(text):
        raise TabError(missing, 404)
    return text


def number_input(value: Any, missing: str) -> int:
    """A positive panel id number from the URL; ``missing`` (404) otherwise."""
    try:
        number = int(str(value))
    except (TypeError, ValueError):
        raise TabError(missing, 404) from None
    if number < 1:
        raise TabError(missing, 404)
    return number
