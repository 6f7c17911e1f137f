"""What a customer is told when the panel fails: the one mapping every customer page uses.

The server tabs, the Overview and the servers list show these sentences (never the panel's own
text, which names exceptions and HTTP statuses); the admin's detail goes to the log. Each
message comes with the HTTP status a page answers with: 409 when the server's state forbids
the action (installing, suspended...), 429 while the panel throttles us (with the seconds to
wait), 503 when the panel or the node cannot be reached, 400 for a refused value, 403 for a
missing permission, 404 for something that is gone.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from builtin_plugins.panel_kit import errors

STATE_CONFLICTS = {
    "installing": _l(
        "The server is still installing; try again when the installation has finished."
    ),
    "suspended": _l("The server is suspended in the panel, so this is unavailable."),
    "restoring": _l("The server is restoring a backup; try again in a moment."),
    "transferring": _l("The server is being moved to another node; try again later."),
    "maintenance": _l("The server's node is under maintenance; try again later."),
}


@dataclass(frozen=True)
class CustomerMessage:
    text: str
    status: int
    state: str = ""  # the panel's state gate (installing, suspended...) for a 409


def state_conflict(exc: errors.ServerStateConflict) -> str:
    return str(STATE_CONFLICTS.get(exc.state, _l("The server is busy; try again later.")))


def for_customer(exc: errors.PanelError) -> CustomerMessage:
    """The customer's sentence and status for a panel failure (details go to the log)."""
    if isinstance(exc, errors.NotConfigured):
        return CustomerMessage(
            _(
                "Server management is not available right now; our staff have "
                "to finish connecting the panel."
            ),
            503,
        )
    if isinstance(exc, errors.ServerStateConflict):
        return CustomerMessage(state_conflict(exc), 409, exc.state)
    if isinstance(exc, errors.DaemonError):
        return CustomerMessage(
            _("The server's node is unreachable right now; try again in a minute."), 503
        )
    if isinstance(exc, errors.RateLimited):
        return CustomerMessage(
            _("The panel is busy; try again in %(n)d s.", n=exc.wait_seconds), 429
        )
    if isinstance(exc, errors.PanelUnreachable | errors.ServerError | errors.NotAPanel):
        current_app.logger.warning("panel: %s", errors.describe(exc))
        return CustomerMessage(_("The panel is unreachable right now; try again in a minute."), 503)
    if isinstance(exc, errors.AuthenticationFailed):
        current_app.logger.error("panel: the panel refused our key: %s", exc)
        return CustomerMessage(_("The panel refused our request; please tell our staff."), 503)
    if isinstance(exc, errors.ValidationFailed):
        return CustomerMessage(" ".join(e.detail for e in exc.entries) or exc.detail, 400)
    if isinstance(exc, errors.ServerOffline):
        return CustomerMessage(_("The server must be running to accept console commands."), 409)
    if isinstance(exc, errors.NotFound):
        return CustomerMessage(_("That no longer exists in the panel; reload the page."), 404)
    if isinstance(exc, errors.PermissionDenied):
        return CustomerMessage(exc.detail or _("The panel does not allow this."), 403)
    if isinstance(exc, errors.Conflict):
        return CustomerMessage(exc.detail or _("The server is busy; try again later."), 409)
    if isinstance(exc, errors.PanelRefused):
        return CustomerMessage(exc.detail or _("The panel refused this."), 400)
    current_app.logger.warning("panel: %s", errors.describe(exc))
    return CustomerMessage(_("The panel could not do this right now; try again later."), 502)


def gone() -> str:
    return _("The server no longer exists in the panel; please tell our staff.")


def install_failed() -> str:
    return _("The installation failed; our staff have been told.")


def no_live_state() -> str:
    return _("The live state is not available.")


def too_slow() -> str:
    return _("The panel did not answer in time; the state shows again in a moment.")
