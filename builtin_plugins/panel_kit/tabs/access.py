"""Who may do what on a server's tabs: the authorisation rules of every tab endpoint.

Every panel call of the tabs goes through the plugin's client key, which belongs to a
root admin and can act on any server, so nothing the panel does protects one customer
from another: these rules do.

- The **owner** of the store service (its ``user_id``) may do everything (``*``).
- A **subuser** is a local account with a row in the plugin's subuser table for the service
  *and* a panel subuser of the server with that panel user's UUID. Its permissions are
  the panel's permission strings for that subuser, read from the panel on each request
  (so a subuser removed or restricted in the panel is restricted here at once).
- **Anyone else** gets a 404, as if the server did not exist.

The service must use the adapter's provisioner and have a panel server; a service
that is not active (suspended, being created) is known to its owner and subusers but its
tabs answer 409 with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from flask import g
from flask_babel import lazy_gettext as _l

from builtin_plugins.panel_kit.tabs.adapter import PanelTabs
from kernel import db

# The console's websocket token is signed for the key's user, a root admin: it allows every
# action on the socket, so only viewers who may do all of these get one.
LIVE_CONSOLE = ("control.console", "control.start", "control.stop", "control.restart")


class NoAccess(Exception):
    """Not the user's server (nor shared with them): answer 404."""


class Unavailable(Exception):
    """The user may see the server, but its tabs cannot work now; ``status`` and a message."""

    def __init__(self, message: str, status: int = 409, state: str = "unavailable") -> None:
        super().__init__(message)
        self.status = status
        self.state = state  # what the console's badge shows (suspended, installing...)


@dataclass
class Access:
    """What the current user may do on one server."""

    # Templates ask what the viewer may do; the service and the user id stay out of reach.
    __template_fields__ = ("owner", "permissions", "can", "can_any", "live_console", "granted")

    service: object
    user_id: int
    owner: bool
    panel: PanelTabs
    identifier: str = ""
    server_id: int = 0
    permissions: frozenset[str] = field(default_factory=frozenset)

    def can(self, permission: str) -> bool:
        return self.owner or "*" in self.permissions or permission in self.permissions

    def can_any(self, *permissions: str) -> bool:
        return any(self.can(p) for p in permissions)

    @property
    def live_console(self) -> bool:
        return all(self.can(p) for p in LIVE_CONSOLE)

    @property
    def granted(self) -> frozenset[str]:
        """Permission strings this viewer may hand on to a subuser it invites."""
        known = self.panel.permissions
        return known if self.owner or "*" in self.permissions else self.permissions & known


def is_panel_service(panel: PanelTabs, service) -> bool:
    """Whether ``service`` is one of ``panel``'s (another panel's services get no tabs here)."""
    return (
        service is not None and getattr(service.product, "provisioner", None) == panel.provisioner
    )


def subuser_row(panel: PanelTabs, service_id: int, user_id: int):
    model = panel.subuser_model
    return db.session.scalar(
        db.select(model).where(model.service_id == service_id, model.user_id == user_id)
    )


def _cache() -> dict:
    if not hasattr(g, "_panel_kit_access"):
        g._panel_kit_access = {}
    return g._panel_kit_access


def forget() -> None:
    """Drop this request's cached answers (after a change of subusers)."""
    _cache().clear()


def resolve(panel: PanelTabs, service_id: int, user, *, client=None) -> Access:
    """The user's access to ``panel``'s service ``service_id``; NoAccess (404) or
    Unavailable (409/503).

    Cached for the request (per panel): the tab list and the view ask once between them.
    """
    key = (panel.blueprint, int(service_id), int(user.id))
    cache = _cache()
    if key in cache:
        found = cache[key]
        if isinstance(found, Exception):
            raise found
        return found
    try:
        found = _resolve(panel, int(service_id), user, client)
    except (NoAccess, Unavailable) as exc:
        cache[key] = exc
        raise
    cache[key] = found
    return found


def _resolve(panel: PanelTabs, service_id: int, user, client) -> Access:
    store = panel.store
    service = db.session.get(store.Service, service_id)
    if service is None or service.state == store.TERMINATED or not is_panel_service(panel, service):
        raise NoAccess()
    owner = service.user_id == user.id
    row = None if owner else subuser_row(panel, service.id, user.id)
    if not owner and row is None:
        raise NoAccess()
    if service.state == store.SUSPENDED:
        raise Unavailable(
            str(_l("This server is suspended, so it cannot be managed now.")), state="suspended"
        )
    if service.state == store.PROVISIONING:
        raise Unavailable(str(_l("This server is still being created.")), state="installing")
    if service.state != store.ACTIVE:
        raise Unavailable(str(_l("This server is not running in the panel.")))
    link = panel.server_link(service.id)
    if link is None or not link[0]:
        raise Unavailable(str(_l("This server has no panel server yet.")))
    access = Access(
        service=service,
        user_id=user.id,
        owner=owner,
        panel=panel,
        identifier=link[0],
        server_id=link[1],
        permissions=frozenset({"*"}) if owner else frozenset(),
    )
    if not owner:
        access.permissions = _panel_permissions(access, row, client)
    return access


def _panel_permissions(access: Access, row, client) -> frozenset[str]:
    """The subuser's permissions as the panel has them; NoAccess when it is no subuser there."""
    from builtin_plugins.panel_kit.tabs import actions

    def read(c):
        return c.client.list_subusers(access.identifier)

    try:
        subusers = read(client) if client is not None else actions.with_client(access, read)
    except actions.TabError as exc:
        raise Unavailable(str(exc), exc.status) from None
    for item in subusers:
        if row.panel_uuid and str(item.get("uuid")) == row.panel_uuid:
            return (
                frozenset(str(p) for p in item.get("permissions") or [])
                | access.panel.always_permissions
            )
    # removed in the panel: forget the share
    db.session.delete(row)
    db.session.commit()
    raise NoAccess()


def tab_permission_ok(access: Access, permission: str | None) -> bool:
    return permission is None or access.can(permission)
