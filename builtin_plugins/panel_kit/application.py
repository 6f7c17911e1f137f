"""The application API calls Pterodactyl and Pelican answer alike: users, servers, nodes.

Each panel plugin's ``ApplicationAPI`` subclasses :class:`BaseApplicationAPI` and adds what
differs (Pterodactyl: nests, locations, first/last names, ``oom_disabled``; Pelican: top-level
eggs, node tags, ``oom_killer``). Methods return plain dicts: an object's ``attributes``, with
includes under ``relationships``; failures raise :mod:`errors` exceptions.

Every write the panel treats as a full replacement (server details and startup PATCH) is done
here as read-modify-write, so callers pass only what they change
(docs/reference/pterodactyl_api.md §7.4, docs/reference/pelican_api.md §3.2.2).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from builtin_plugins.panel_kit import errors
from builtin_plugins.panel_kit.connection import segment
from builtin_plugins.panel_kit.transport import Page, Transport, filters

# container.environment keys the panel adds that are not egg variables
PANEL_ENVIRONMENT = frozenset(
    {"STARTUP", "P_SERVER_LOCATION", "P_SERVER_UUID", "P_SERVER_ALLOCATION_LIMIT"}
)
LIMIT_KEYS = ("memory", "swap", "disk", "io", "cpu", "threads")
FEATURE_KEYS = ("databases", "allocations", "backups")


def egg_variables(egg: dict[str, Any]) -> list[dict[str, Any]]:
    """The variable definitions of an egg fetched with ``include=variables``."""
    return list((egg.get("relationships") or {}).get("variables") or [])


def server_environment(server: dict[str, Any]) -> dict[str, str]:
    """A server's egg variable values (``container.environment`` without the panel's own keys)."""
    environment = (server.get("container") or {}).get("environment") or {}
    return {
        k: "" if v is None else str(v) for k, v in environment.items() if k not in PANEL_ENVIRONMENT
    }


_UNSET: Any = object()


class BaseApplicationAPI:
    """``/api/application``: admin CRUD. IDs are the panel's integer ids."""

    def __init__(self, transport: Transport) -> None:
        self.t = transport

    # --- users --------------------------------------------------------------------------

    def list_users(
        self,
        *,
        email: str | None = None,
        username: str | None = None,
        uuid: str | None = None,
        external_id: str | None = None,
        include: Iterable[str] = (),
    ) -> list[dict]:
        """Users; the filters are the panel's partial, case-insensitive matches."""
        return self.t.all(
            "/users",
            filters(
                tuple(include), email=email, username=username, uuid=uuid, external_id=external_id
            ),
        )

    def find_user_by_email(self, email: str) -> dict | None:
        """The user whose email is exactly ``email`` (case-insensitive), not a partial match."""
        wanted = email.strip().casefold()
        return next(
            (
                u
                for u in self.list_users(email=email.strip())
                if str(u.get("email", "")).strip().casefold() == wanted
            ),
            None,
        )

    def find_user_by_username(self, username: str) -> dict | None:
        wanted = username.strip().lower()
        return next(
            (
                u
                for u in self.list_users(username=wanted)
                if str(u.get("username", "")).lower() == wanted
            ),
            None,
        )

    def get_user(self, user_id: int, *, include: Iterable[str] = ()) -> dict:
        return self.t.item("GET", f"/users/{int(user_id)}", params=filters(tuple(include)))

    def get_user_by_external_id(self, external_id: str) -> dict | None:
        try:
            return self.t.item("GET", f"/users/external/{segment(external_id)}")
        except errors.NotFound:
            return None

    def delete_user(self, user_id: int) -> None:
        self.t.request("DELETE", f"/users/{int(user_id)}")

    # --- servers ------------------------------------------------------------------------

    def list_servers(
        self,
        *,
        external_id: str | None = None,
        name: str | None = None,
        uuid: str | None = None,
        include: Iterable[str] = (),
    ) -> list[dict]:
        return self.t.all(
            "/servers", filters(tuple(include), external_id=external_id, name=name, uuid=uuid)
        )

    def servers_page(self, page: int, *, per_page: int = 100) -> Page:
        """Page ``page`` of the servers sorted by id (``?sort=id``): a walk that resumes
        where it stopped pages in id order (panel_kit/resume.py)."""
        params = {"sort": "id"}
        return self.t.page("/servers", params, page=page, per_page=per_page)

    def get_server(self, server_id: int, *, include: Iterable[str] = ()) -> dict:
        return self.t.item("GET", f"/servers/{int(server_id)}", params=filters(tuple(include)))

    def get_server_by_external_id(
        self, external_id: str, *, include: Iterable[str] = ()
    ) -> dict | None:
        """The server with exactly this external id, or None (the idempotency check)."""
        try:
            return self.t.item(
                "GET", f"/servers/external/{segment(external_id)}", params=filters(tuple(include))
            )
        except errors.NotFound:
            return None

    def create_server(self, body: dict[str, Any]) -> dict:
        """``POST /servers`` once (not retried on a timeout or 5xx: look the external id up)."""
        return self.t.item("POST", "/servers", json=body, idempotent=False, wings=True)

    def update_server_details(
        self,
        server_id: int,
        *,
        name: str | None = None,
        user: int | None = None,
        external_id: Any = _UNSET,
        description: Any = _UNSET,
    ) -> dict:
        """Rename, change owner or external id; omitted fields keep their value (the panel
        would clear ``external_id`` and ``description``)."""
        current = self.get_server(server_id)
        body = {
            "name": name if name is not None else current.get("name"),
            "user": int(user if user is not None else current.get("user")),
            "external_id": current.get("external_id") if external_id is _UNSET else external_id,
            "description": (current.get("description") or "")
            if description is _UNSET
            else description,
        }
        return self.t.item("PATCH", f"/servers/{int(server_id)}/details", json=body)

    def update_server_startup(
        self,
        server_id: int,
        *,
        environment: dict[str, Any] | None = None,
        startup: str | None = None,
        egg: int | None = None,
        image: str | None = None,
        skip_scripts: bool = False,
    ) -> dict:
        """Change startup, egg, image or variables. Same egg: ``environment`` holds only the
        variables to change; the others are sent back as they are (omitted ones would be
        blanked). Another egg: ``environment`` must hold every variable of the new egg.
        ``environment=None`` leaves every variable untouched."""
        current = self.get_server(server_id)
        container = current.get("container") or {}
        new_egg = int(egg if egg is not None else current.get("egg"))
        if environment is None:
            env: dict[str, Any] = {}
        elif new_egg == int(current.get("egg")):
            env = {**server_environment(current), **environment}
        else:
            env = dict(environment)
        body = {
            "startup": startup if startup is not None else container.get("startup_command"),
            "environment": {k: "" if v is None else str(v) for k, v in env.items()},
            "egg": new_egg,
            "image": image if image is not None else container.get("image"),
            "skip_scripts": bool(skip_scripts),
        }
        return self.t.item("PATCH", f"/servers/{int(server_id)}/startup", json=body)

    def suspend_server(self, server_id: int) -> None:
        self.t.request("POST", f"/servers/{int(server_id)}/suspend", idempotent=True, wings=True)

    def unsuspend_server(self, server_id: int) -> None:
        self.t.request("POST", f"/servers/{int(server_id)}/unsuspend", idempotent=True, wings=True)

    def reinstall_server(self, server_id: int) -> None:
        self.t.request("POST", f"/servers/{int(server_id)}/reinstall", idempotent=False, wings=True)

    def delete_server(self, server_id: int, *, force: bool = False) -> None:
        """Delete; raises NotFound when it is already gone (a retry of a delete that worked)."""
        suffix = "/force" if force else ""
        self.t.request("DELETE", f"/servers/{int(server_id)}{suffix}", wings=True)

    # --- nodes and allocations --------------------------------------------------------

    def list_nodes(self, *, include: Iterable[str] = ()) -> list[dict]:
        return self.t.all("/nodes", filters(tuple(include)))

    def get_node(self, node_id: int, *, include: Iterable[str] = ()) -> dict:
        return self.t.item("GET", f"/nodes/{int(node_id)}", params=filters(tuple(include)))

    def list_node_allocations(self, node_id: int, *, unassigned: bool = False) -> list[dict]:
        params = {"filter[server_id]": "false"} if unassigned else {}
        found = self.t.all(f"/nodes/{int(node_id)}/allocations", params, per_page=500)
        return [a for a in found if not (unassigned and a.get("assigned"))]
