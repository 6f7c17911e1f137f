"""The Pterodactyl panel client: ``PanelClient(url, application_key, client_key)``.

``panel.app`` is the application API (``ptla_`` key: users, servers, nests, eggs,
nodes, locations), ``panel.client`` the client API (``ptlc_`` key of a root admin:
power, console, files, backups... on any server; the panel kit's ``ClientAPI``). Methods
return plain dicts: an object's ``attributes``, with includes under
``relationships``. Failures raise :mod:`errors` exceptions.

Every write that the panel treats as a full replacement (user PATCH, server
details/build/startup PATCH) is done here as read-modify-write, so callers pass
only what they change (docs/reference/pterodactyl_api.md §7.4 "Idempotency").
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from builtin_plugins.panel_kit.api import (  # noqa: F401 - the plugin's names for them
    FEATURE_KEYS,
    LIMIT_KEYS,
    PANEL_ENVIRONMENT,
    BaseApplicationAPI,
    ClientAPI,
    Page,
    PanelConnection,
    RetryPolicy,
    Timeouts,
    egg_variables,
    errors,
    filters,
    server_environment,
    unwrap,
)

__all__ = [
    "ApplicationAPI",
    "ClientAPI",
    "Page",
    "PanelClient",
    "RetryPolicy",
    "Timeouts",
    "egg_variables",
    "server_environment",
]

USER_AGENT = "pteroca-pterodactyl/1.0"


class ApplicationAPI(BaseApplicationAPI):
    """``/api/application`` of Pterodactyl: the kit's common calls, plus users with names,
    builds with ``oom_disabled``, nests, eggs and locations."""

    # --- users --------------------------------------------------------------------------

    def create_user(
        self,
        *,
        email: str,
        username: str,
        first_name: str,
        last_name: str,
        password: str | None = None,
        external_id: str | None = None,
        language: str | None = None,
        root_admin: bool | None = None,
    ) -> dict:
        body: dict[str, Any] = {
            "email": email,
            "username": username,
            "first_name": first_name,
            "last_name": last_name,
        }
        for key, value in (
            ("password", password),
            ("external_id", external_id),
            ("language", language),
            ("root_admin", root_admin),
        ):
            if value is not None:
                body[key] = value
        return self.t.item("POST", "/users", json=body)

    def update_user(self, user_id: int, **changes: Any) -> dict:
        """Change some fields; the others are read first and sent back (the PATCH replaces
        email, username and names). ``password`` is only sent when given."""
        current = self.get_user(user_id)
        body = {
            k: current.get(k) for k in ("email", "username", "first_name", "last_name", "language")
        }
        body.update({k: v for k, v in changes.items() if v is not None})
        return self.t.item("PATCH", f"/users/{int(user_id)}", json=body)

    def update_server_build(
        self,
        server_id: int,
        *,
        limits: dict[str, Any] | None = None,
        feature_limits: dict[str, Any] | None = None,
        allocation: int | None = None,
        oom_disabled: bool | None = None,
        add_allocations: Iterable[int] = (),
        remove_allocations: Iterable[int] = (),
    ) -> dict:
        """Change limits; unspecified limits, feature limits and the default allocation are
        read from the server first (an omitted ``feature_limits.allocations`` would become
        unlimited). A 200 does not prove Wings applied it."""
        current = self.get_server(server_id)
        now_limits = current.get("limits") or {}
        body: dict[str, Any] = {
            "allocation": int(allocation if allocation is not None else current.get("allocation")),
            "limits": {k: now_limits.get(k) for k in LIMIT_KEYS},
            "feature_limits": {
                k: (current.get("feature_limits") or {}).get(k) for k in FEATURE_KEYS
            },
        }
        body["limits"].update(limits or {})
        body["feature_limits"].update(feature_limits or {})
        oom = oom_disabled if oom_disabled is not None else now_limits.get("oom_disabled")
        if oom is not None:
            body["oom_disabled"] = bool(oom)
        if add_allocations:
            body["add_allocations"] = [int(a) for a in add_allocations]
        if remove_allocations:
            body["remove_allocations"] = [int(a) for a in remove_allocations]
        return self.t.item("PATCH", f"/servers/{int(server_id)}/build", json=body)

    # --- nests and eggs -----------------------------------------------------------------

    def list_nests(self, *, include: Iterable[str] = ()) -> list[dict]:
        return self.t.all("/nests", filters(tuple(include)))

    def get_nest(self, nest_id: int, *, include: Iterable[str] = ()) -> dict:
        return self.t.item("GET", f"/nests/{int(nest_id)}", params=filters(tuple(include)))

    def list_eggs(self, nest_id: int, *, include: Iterable[str] = ()) -> list[dict]:
        return self.t.all(f"/nests/{int(nest_id)}/eggs", filters(tuple(include)))

    def get_egg(
        self, nest_id: int, egg_id: int, *, include: Iterable[str] = ("variables",)
    ) -> dict:
        """One egg of a nest (404 when it belongs to another nest), variables included."""
        return self.t.item(
            "GET", f"/nests/{int(nest_id)}/eggs/{int(egg_id)}", params=filters(tuple(include))
        )

    # --- nodes and locations -----------------------------------------------------------

    def deployable_nodes(
        self, *, memory: int, disk: int, location_ids: Iterable[int] = ()
    ) -> list[dict]:
        """Public nodes with room for ``memory``/``disk`` MiB; [] when none (the panel says 400)."""
        params: list[tuple[str, Any]] = [("memory", int(memory)), ("disk", int(disk))]
        params += [("location_ids[]", int(i)) for i in location_ids]
        try:
            body = self.t.request("GET", "/nodes/deployable", params=params)
        except errors.NoCapacity:
            return []
        found = unwrap(body)
        return found if isinstance(found, list) else []

    def list_locations(self, *, include: Iterable[str] = ()) -> list[dict]:
        return self.t.all("/locations", filters(tuple(include)))

    def get_location(self, location_id: int, *, include: Iterable[str] = ()) -> dict:
        return self.t.item("GET", f"/locations/{int(location_id)}", params=filters(tuple(include)))


class PanelClient(PanelConnection):
    """Both APIs of one Pterodactyl panel over one connection pool (the kit's connection)."""

    application_api = ApplicationAPI
    client_api = ClientAPI
    user_agent = USER_AGENT
