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

import functools
import ssl
import time
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import quote

import httpx

from builtin_plugins.panel_kit.api import (
    Budget,
    ClientAPI,
    Page,
    RetryPolicy,
    Timeouts,
    Transport,
    errors,
    filters,
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
APPLICATION = "/api/application"
CLIENT = "/api/client"
# container.environment keys the panel adds that are not egg variables
PANEL_ENVIRONMENT = frozenset(
    {"STARTUP", "P_SERVER_LOCATION", "P_SERVER_UUID", "P_SERVER_ALLOCATION_LIMIT"}
)
LIMIT_KEYS = ("memory", "swap", "disk", "io", "cpu", "threads")
FEATURE_KEYS = ("databases", "allocations", "backups")
_UNSET: Any = object()


def egg_variables(egg: dict[str, Any]) -> list[dict[str, Any]]:
    """The variable definitions of an egg fetched with ``include=variables``."""
    return list((egg.get("relationships") or {}).get("variables") or [])


def server_environment(server: dict[str, Any]) -> dict[str, str]:
    """A server's egg variable values (``container.environment`` without the panel's own keys)."""
    environment = (server.get("container") or {}).get("environment") or {}
    return {
        k: "" if v is None else str(v) for k, v in environment.items() if k not in PANEL_ENVIRONMENT
    }


class ApplicationAPI:
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
            return self.t.item("GET", f"/users/external/{_segment(external_id)}")
        except errors.NotFound:
            return None

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

    def get_server(self, server_id: int, *, include: Iterable[str] = ()) -> dict:
        return self.t.item("GET", f"/servers/{int(server_id)}", params=filters(tuple(include)))

    def get_server_by_external_id(
        self, external_id: str, *, include: Iterable[str] = ()
    ) -> dict | None:
        """The server with exactly this external id, or None (the idempotency check)."""
        try:
            return self.t.item(
                "GET", f"/servers/external/{_segment(external_id)}", params=filters(tuple(include))
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

    # --- nodes, allocations, locations --------------------------------------------------

    def list_nodes(self, *, include: Iterable[str] = ()) -> list[dict]:
        return self.t.all("/nodes", filters(tuple(include)))

    def get_node(self, node_id: int, *, include: Iterable[str] = ()) -> dict:
        return self.t.item("GET", f"/nodes/{int(node_id)}", params=filters(tuple(include)))

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

    def list_node_allocations(self, node_id: int, *, unassigned: bool = False) -> list[dict]:
        params = {"filter[server_id]": "false"} if unassigned else {}
        found = self.t.all(f"/nodes/{int(node_id)}/allocations", params, per_page=500)
        return [a for a in found if not (unassigned and a.get("assigned"))]

    def list_locations(self, *, include: Iterable[str] = ()) -> list[dict]:
        return self.t.all("/locations", filters(tuple(include)))

    def get_location(self, location_id: int, *, include: Iterable[str] = ()) -> dict:
        return self.t.item("GET", f"/locations/{int(location_id)}", params=filters(tuple(include)))


@functools.cache
def tls_context() -> ssl.SSLContext:
    """The system's certificate authorities, loaded once per process (loading them is most
    of a client's start-up: the reconciler builds one per server it converges)."""
    return ssl.create_default_context()


def _segment(value: str) -> str:
    """A path segment: external ids may hold characters that must not change the path."""
    return quote(str(value), safe="")


class PanelClient:
    """Both APIs of one panel over one connection pool. Close it (or use ``with``)."""

    def __init__(
        self,
        url: str,
        application_key: str = "",
        client_key: str = "",
        *,
        timeouts: Timeouts | None = None,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        transport: httpx.BaseTransport | None = None,
        shared: bool = False,
        budgets: dict[str, Budget] | None = None,
        interactive: bool | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        # A shared client (one per process and panel: panel.connect) outlives every ``with``.
        self.shared = shared
        self.timeouts = timeouts or Timeouts()
        self.retry = retry or RetryPolicy()
        self._sleep = sleep
        self._http = httpx.Client(
            base_url=self.url,
            transport=transport,
            follow_redirects=False,
            timeout=self.timeouts.for_call(False),
            verify=tls_context(),
        )
        common = {
            "timeouts": self.timeouts,
            "retry": self.retry,
            "sleep": sleep,
            "user_agent": USER_AGENT,
        }
        # budgets: {"application": ..., "client": ...} (panel.make_client always gives them);
        # interactive: their priority (None: from the retry policy, see Transport)
        budgets = budgets or {}
        common["interactive"] = interactive
        self.app = ApplicationAPI(
            Transport(
                self._http,
                application_key,
                APPLICATION,
                budget=budgets.get("application"),
                **common,
            )
        )
        self.client = ClientAPI(
            Transport(self._http, client_key, CLIENT, budget=budgets.get("client"), **common)
        )

    def pause(self, seconds: float) -> None:
        """Wait between attempts of a multi-step operation (the injected ``sleep``)."""
        self._sleep(seconds)

    def close(self) -> None:
        if not self.shared:
            self._http.close()

    def close_pool(self) -> None:
        """Close the connection pool even of a shared client (panel.forget_clients)."""
        self._http.close()

    def __enter__(self) -> PanelClient:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
