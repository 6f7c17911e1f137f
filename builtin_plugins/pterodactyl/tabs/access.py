"""Who may do what on a server's tabs: the authorisation rules of every tab endpoint.

Every panel call of the tabs goes through the plugin's client key, which belongs to a
root admin and can act on any server, so nothing the panel does protects one customer
from another: these rules do.

- The **owner** of the store service (its ``user_id``) may do everything (``*``).
- A **subuser** is a local account with a :class:`~.models.Subuser` row for the service
  *and* a panel subuser of the server with that panel user's UUID. Its permissions are
  the panel's permission strings for that subuser, read from the panel on each request
  (so a subuser removed or restricted in the panel is restricted here at once).
- **Anyone else** gets a 404, as if the server did not exist.

The service must use the ``pterodactyl`` provisioner and have a panel server; a service
that is not active (suspended, being created) is known to its owner and subusers but its
tabs answer 409 with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from flask import g
from flask_babel import lazy_gettext as _l

from builtin_plugins.pterodactyl import links
from kernel import db

PROVISIONER = "pterodactyl"

# The panel's permission strings, grouped as its own subuser form groups them.
PERMISSION_GROUPS: tuple[tuple[str, object, tuple[tuple[str, object], ...]], ...] = (
    (
        "control",
        _l("Console and power"),
        (
            ("control.console", _l("Send console commands")),
            ("control.start", _l("Start the server")),
            ("control.stop", _l("Stop or kill the server")),
            ("control.restart", _l("Restart the server")),
        ),
    ),
    (
        "user",
        _l("Subusers"),
        (
            ("user.read", _l("See subusers")),
            ("user.create", _l("Invite subusers")),
            ("user.update", _l("Change subusers' permissions")),
            ("user.delete", _l("Remove subusers")),
        ),
    ),
    (
        "file",
        _l("Files (in the panel and over SFTP)"),
        (
            ("file.read", _l("List files and download them")),
            ("file.read-content", _l("Read file contents")),
            ("file.create", _l("Create and upload files")),
            ("file.update", _l("Change and rename files")),
            ("file.delete", _l("Delete files")),
            ("file.archive", _l("Compress and extract archives")),
            ("file.sftp", _l("Connect over SFTP")),
        ),
    ),
    (
        "backup",
        _l("Backups"),
        (
            ("backup.read", _l("See backups")),
            ("backup.create", _l("Create backups")),
            ("backup.delete", _l("Delete and lock backups")),
            ("backup.download", _l("Download backups")),
            ("backup.restore", _l("Restore backups")),
        ),
    ),
    (
        "allocation",
        _l("Network"),
        (
            ("allocation.read", _l("See ports")),
            ("allocation.create", _l("Add ports")),
            ("allocation.update", _l("Change notes and the primary port")),
            ("allocation.delete", _l("Remove ports")),
        ),
    ),
    (
        "startup",
        _l("Startup"),
        (
            ("startup.read", _l("See startup variables")),
            ("startup.update", _l("Change startup variables")),
            ("startup.docker-image", _l("Change the Docker image")),
        ),
    ),
    (
        "database",
        _l("Databases"),
        (
            ("database.read", _l("See databases")),
            ("database.create", _l("Create databases")),
            ("database.update", _l("Rotate database passwords")),
            ("database.delete", _l("Delete databases")),
            ("database.view_password", _l("See database passwords")),
        ),
    ),
    (
        "schedule",
        _l("Schedules"),
        (
            ("schedule.read", _l("See schedules")),
            ("schedule.create", _l("Create schedules")),
            ("schedule.update", _l("Change and run schedules and their tasks")),
            ("schedule.delete", _l("Delete schedules")),
        ),
    ),
    (
        "settings",
        _l("Settings"),
        (
            ("settings.rename", _l("Rename the server")),
            ("settings.reinstall", _l("Reinstall the server")),
        ),
    ),
    ("activity", _l("Activity"), (("activity.read", _l("Read the activity log")),)),
)
PERMISSIONS: frozenset[str] = frozenset(p for _, _, items in PERMISSION_GROUPS for p, _ in items)
ALWAYS = "websocket.connect"  # the panel adds it to every subuser
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
        return (
            PERMISSIONS
            if self.owner or "*" in self.permissions
            else frozenset(self.permissions) & PERMISSIONS
        )


def is_panel_service(service) -> bool:
    return service is not None and getattr(service.product, "provisioner", None) == PROVISIONER


def subuser_row(service_id: int, user_id: int):
    from builtin_plugins.pterodactyl.tabs.models import Subuser

    return db.session.scalar(
        db.select(Subuser).where(Subuser.service_id == service_id, Subuser.user_id == user_id)
    )


def _cache() -> dict:
    if not hasattr(g, "_pterodactyl_access"):
        g._pterodactyl_access = {}
    return g._pterodactyl_access


def forget() -> None:
    """Drop this request's cached answers (after a change of subusers)."""
    _cache().clear()


def resolve(service_id: int, user, *, client=None) -> Access:
    """The user's access to service ``service_id``; NoAccess (404) or Unavailable (409/503).

    Cached for the request: the tab list and the view ask once between them.
    """
    key = (int(service_id), int(user.id))
    cache = _cache()
    if key in cache:
        found = cache[key]
        if isinstance(found, Exception):
            raise found
        return found
    try:
        found = _resolve(int(service_id), user, client)
    except (NoAccess, Unavailable) as exc:
        cache[key] = exc
        raise
    cache[key] = found
    return found


def _resolve(service_id: int, user, client) -> Access:
    from builtin_plugins.store.api import ACTIVE, PROVISIONING, SUSPENDED, TERMINATED, Service

    service = db.session.get(Service, service_id)
    if service is None or service.state == TERMINATED or not is_panel_service(service):
        raise NoAccess()
    owner = service.user_id == user.id
    row = None if owner else subuser_row(service.id, user.id)
    if not owner and row is None:
        raise NoAccess()
    if service.state == SUSPENDED:
        raise Unavailable(
            str(_l("This server is suspended, so it cannot be managed now.")), state="suspended"
        )
    if service.state == PROVISIONING:
        raise Unavailable(str(_l("This server is still being created.")), state="installing")
    if service.state != ACTIVE:
        raise Unavailable(str(_l("This server is not running in the panel.")))
    link = links.server_link(service.id)
    if link is None or not link.identifier:
        raise Unavailable(str(_l("This server has no panel server yet.")))
    access = Access(
        service=service,
        user_id=user.id,
        owner=owner,
        identifier=link.identifier,
        server_id=link.server_id,
        permissions=frozenset({"*"}) if owner else frozenset(),
    )
    if not owner:
        access.permissions = _panel_permissions(access, row, client)
    return access


def _panel_permissions(access: Access, row, client) -> frozenset[str]:
    """The subuser's permissions as the panel has them; NoAccess when it is no subuser there."""
    from builtin_plugins.pterodactyl.tabs import actions

    def read(c):
        return c.client.list_subusers(access.identifier)

    try:
        subusers = read(client) if client is not None else actions.with_client(read)
    except actions.TabError as exc:
        raise Unavailable(str(exc), exc.status) from None
    for item in subusers:
        if row.panel_uuid and str(item.get("uuid")) == row.panel_uuid:
            return frozenset(str(p) for p in item.get("permissions") or []) | {ALWAYS}
    # removed in the panel: forget the share
    db.session.delete(row)
    db.session.commit()
    raise NoAccess()


def tab_permission_ok(access: Access, permission: str | None) -> bool:
    return permission is None or access.can(permission)
