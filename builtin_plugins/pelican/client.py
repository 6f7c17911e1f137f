"""The Pelican panel client: ``PelicanClient(url, application_key, client_key)``.

``client.app`` is the application API (``papp_`` key), ``client.client`` the client API
(``pacc_`` key of a Root Admin). The calls Pelican answers as Pterodactyl does come from
the panel kit (users, servers, nodes); this module adds Pelican's own
(docs/reference/pelican_api.md §3, §10):

- users have no first or last name nor ``root_admin``; email and username go lower-cased,
  both on every PATCH;
- eggs are top level (``GET /eggs``, ``GET /eggs/{id}?include=variables``): no nests;
- nodes carry ``tags`` (no locations), and the deployable-nodes query counts CPU;
- a build PATCH always carries the primary ``allocation`` and ``oom_killer`` (the inverse
  of Pterodactyl's ``oom_disabled``, which Pelican ignores on writes).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from builtin_plugins.panel_kit.api import (
    FEATURE_KEYS,
    LIMIT_KEYS,
    POWER_SIGNALS,
    BaseApplicationAPI,
    PanelConnection,
    errors,
    filters,
    unwrap,
)
from builtin_plugins.panel_kit.api import ClientAPI as KitClientAPI

USER_AGENT = "pteroca-pelican/1.0"


class ApplicationAPI(BaseApplicationAPI):
    """``/api/application`` of Pelican: the kit's common calls plus Pelican's own."""

    # --- users --------------------------------------------------------------------------

    def create_user(
        self,
        *,
        email: str,
        username: str,
        password: str | None = None,
        external_id: str | None = None,
        language: str | None = None,
    ) -> dict:
        body: dict[str, Any] = {"email": email.strip().lower(), "username": username.lower()}
        if password:
            body["password"] = password
        if external_id is not None:
            body["external_id"] = external_id
        if language:
            body["language"] = language
        return self.t.item("POST", "/users", json=body)

    def update_user(
        self,
        user_id: int,
        *,
        email: str | None = None,
        username: str | None = None,
        password: str | None = None,
        external_id: str | None = None,
    ) -> dict:
        """Change some fields; email and username are required on every PATCH, so the
        current ones are read and sent back when not changed."""
        current = self.get_user(user_id)
        body: dict[str, Any] = {
            "email": (email or str(current.get("email") or "")).strip().lower(),
            "username": (username or str(current.get("username") or "")).lower(),
        }
        if password:
            body["password"] = password
        if external_id is not None:
            body["external_id"] = external_id
        return self.t.item("PATCH", f"/users/{int(user_id)}", json=body)

    # --- servers ------------------------------------------------------------------------

    def update_server_build(
        self,
        server_id: int,
        *,
        limits: dict[str, Any] | None = None,
        feature_limits: dict[str, Any] | None = None,
        oom_killer: bool | None = None,
    ) -> dict:
        """Change limits. The current primary allocation is always sent (omitted it is a 500,
        null clears it), and the limits and feature limits not given are read back from the
        server (an omitted ``feature_limits.allocations`` would become unlimited). A Wings
        error after the save is a 500 ``RequestException`` although the change is kept."""
        current = self.get_server(server_id)
        now_limits = current.get("limits") or {}
        body: dict[str, Any] = {
            "allocation": current.get("allocation"),
            "limits": {k: now_limits.get(k) for k in LIMIT_KEYS},
            "feature_limits": {
                k: (current.get("feature_limits") or {}).get(k) for k in FEATURE_KEYS
            },
        }
        body["limits"].update(limits or {})
        body["feature_limits"].update(feature_limits or {})
        killer = oom_killer if oom_killer is not None else now_limits.get("oom_killer")
        if killer is not None:
            body["oom_killer"] = bool(killer)
        return self.t.item("PATCH", f"/servers/{int(server_id)}/build", json=body)

    # --- eggs (top level) ---------------------------------------------------------------

    def list_eggs(self, *, include: Iterable[str] = ()) -> list[dict]:
        """Every egg (the panel does not paginate this list)."""
        found = unwrap(self.t.request("GET", "/eggs", params=filters(tuple(include))))
        return found if isinstance(found, list) else []

    def get_egg(self, egg_id: int, *, include: Iterable[str] = ("variables",)) -> dict:
        return self.t.item("GET", f"/eggs/{int(egg_id)}", params=filters(tuple(include)))

    # --- nodes --------------------------------------------------------------------------

    def deployable_nodes(
        self, *, memory: int, disk: int, cpu: int = 0, tags: Iterable[str] = ()
    ) -> list[dict]:
        """Public nodes carrying one of ``tags`` with room for the server; [] when none
        (Pelican answers 200 with an empty list, never a 400)."""
        params: list[tuple[str, Any]] = [
            ("memory", int(memory)),
            ("disk", int(disk)),
            ("cpu", int(cpu)),
        ]
        params += [("tags[]", str(tag)) for tag in tags]
        found = unwrap(self.t.request("GET", "/nodes/deployable", params=params))
        return found if isinstance(found, list) else []


class ClientAPI(KitClientAPI):
    """``/api/client`` with the Root Admin's ``pacc_`` key: the kit's client API (live state,
    power, the server tabs' calls) with Pelican's differences (docs/reference/pelican_api.md
    §4, §8): resources never fail on Wings (``current_state: "missing"``), the rename takes
    no description (``POST /settings/description`` does), ``/permissions`` is a flat list.
    Servers are named by their 8-character identifier."""

    def resources(self, identifier: str) -> dict:
        """``current_state`` (``missing`` when Wings did not answer), ``is_suspended`` and
        usage; a 409 ServerStateConflict while installing, suspended, restoring... The panel
        asks Wings with a 1 s timeout itself, so this is an ordinary read."""
        return self.t.item("GET", f"{self.path(identifier)}/resources")

    def power(self, identifier: str, signal: str) -> None:
        if signal not in POWER_SIGNALS:
            raise errors.PanelError(f"unknown power signal {signal!r}")
        super().power(identifier, signal)

    def permissions(self) -> list[str]:
        """The panel's subuser permission keys (a flat list; plugins may add their own)."""
        found = (self.t.item("GET", "/permissions") or {}).get("permissions") or []
        return [str(p) for p in found] if isinstance(found, list) else []

    def rename(self, server: str, name: str, description: str | None = None) -> None:
        """Rename; a ``description`` goes through its own route (the rename ignores it)."""
        self.t.request(
            "POST", f"{self.path(server)}/settings/rename", json={"name": name}, idempotent=True
        )
        if description is not None:
            self.set_description(server, description)

    def set_description(self, server: str, description: str | None) -> None:
        """``settings.description``; a panel with descriptions not editable answers 403."""
        self.t.request(
            "POST",
            f"{self.path(server)}/settings/description",
            json={"description": description},
            idempotent=True,
        )


class PelicanClient(PanelConnection):
    """Both APIs of one Pelican panel over one connection pool (the kit's connection)."""

    application_api = ApplicationAPI
    client_api = ClientAPI
    user_agent = USER_AGENT
