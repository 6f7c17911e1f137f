"""The Pelican simulator: the Pterodactyl simulator's server, state and handlers, playing
Pelican where Pelican differs (docs/reference/pelican_api.md §9 "Checklist for a faithful
simulator (Pelican mode)").

    with PelicanSimulator(install_seconds=0) as sim:
        httpx.get(sim.url + "/api/application/eggs",
                  headers={"Authorization": f"Bearer {sim.application_key}",
                           "Accept": "application/json"})

What changes against :class:`simulators.pterodactyl.Simulator`:

- order of checks: path models are bound (404) before the key is checked (401); the API
  throttle comes after the admin check; client routes then check access (404), the state
  gate (409) and the per-server resource throttles (429);
- 256 requests a minute per user on each API, and per-server limits on websockets,
  database, allocation, schedule and subuser creation, backup restores and file pulls
  (switch ``resource_limits``);
- Wings faults are 500s: ``wings_down`` is an unreachable Wings (``ConnectionException``),
  ``wings_error`` a Wings that answers with an error (``RequestException``); each operation
  keeps or rolls back what it did as Pelican does;
- no two-factor check on the API;
- ``papp_``/``pacc_`` keys with a per-resource ACL map; no nests, no locations.
"""

from __future__ import annotations

import copy
import time
from typing import Any

from simulators.pelican import bindings
from simulators.pelican import state as pst
from simulators.pelican.transformers import PelicanAppRenderer, PelicanClientRenderer
from simulators.pterodactyl import errors
from simulators.pterodactyl import state as st
from simulators.pterodactyl.app import SWITCH_DEFAULTS as PTERODACTYL_SWITCHES
from simulators.pterodactyl.app import Simulator, _ip_allowed
from simulators.pterodactyl.routing import Ctx, Request, Response, Route, Router
from simulators.pterodactyl.transformers import IncludeError

S = "/api/client/servers/{server}"
# limiter -> [requests, seconds], per server (docs/reference/pelican_api.md §1.3 "Rate limits
# and 429"; config/http.php)
RESOURCE_LIMITS = {
    "websocket": [5, 60],
    "backup-restore": [3, 900],
    "database-create": [2, 60],
    "subuser-create": [10, 900],
    "file-pull": [5, 600],
    "allocation-create": [2, 60],
    "schedule-create": [2, 60],
}
THROTTLED_ROUTES = {
    ("GET", S + "/websocket"): "websocket",
    ("POST", S + "/backups/{backup}/restore"): "backup-restore",
    ("POST", S + "/databases"): "database-create",
    ("POST", S + "/users"): "subuser-create",
    ("POST", S + "/files/pull"): "file-pull",
    ("POST", S + "/network/allocations"): "allocation-create",
    ("POST", S + "/schedules"): "schedule-create",
}
SWITCH_DEFAULTS: dict[str, Any] = {
    **{k: v for k, v in PTERODACTYL_SWITCHES.items() if k != "two_factor_required"},
    "application_rate_limit": 256,
    "client_rate_limit": 256,
    "wings_error": False,
    "resource_limits": copy.deepcopy(RESOURCE_LIMITS),
}


class PelicanSimulator(Simulator):
    """A simulated Pelican panel (application + client API) and its Wings nodes."""

    label = "Pelican"
    switch_defaults = SWITCH_DEFAULTS
    thread_name = "pelican-simulator"
    app_renderer = PelicanAppRenderer
    client_renderer = PelicanClientRenderer
    permission_keys = frozenset(pst.PERMISSIONS)
    refuse_ungranted_permissions = False
    string_max = 255

    def _register_routes(self, router: Router) -> None:
        from simulators.pelican import application_api, client_api
        from simulators.pterodactyl import control, wings

        application_api.register(router)
        client_api.register(router)
        wings.register(router)
        control.register(router)

    def _new_state(self) -> st.State:
        return pst.State()

    def _seed(self, state: st.State) -> None:
        pst.seed(state, self.public_host, self.port)

    def _build_state(self, seed: bool, application_key: str | None, client_key: str | None) -> None:
        super()._build_state(seed, application_key, client_key)
        pst.migrate_users(self.state)

    def wings_failure(self) -> errors.ApiError | None:
        """docs/reference/pelican_api.md §2.5 "Panel → Wings calls": always a 500."""
        if self.switch("wings_down"):
            return errors.server_error("ConnectionException")
        if self.switch("wings_error"):
            return errors.server_error("RequestException")
        return None

    def _coerce_switch(self, name: str, value: Any, current: dict[str, Any]) -> dict[str, Any]:
        if name == "wings_error":
            return {name: bool(value)}
        if name == "resource_limits":
            if not isinstance(value, dict):
                raise ValueError("resource_limits takes {limiter: [count, seconds]}")
            limits = copy.deepcopy(current["resource_limits"])
            for limiter, pair in value.items():
                if limiter not in RESOURCE_LIMITS:
                    raise ValueError(
                        f"unknown limiter {limiter!r}; known: " + ", ".join(sorted(RESOURCE_LIMITS))
                    )
                count, seconds = (int(v) for v in pair)
                limits[limiter] = [max(0, count), max(1, seconds)]
            return {name: limits}
        return super()._coerce_switch(name, value, current)

    def snapshot(self) -> dict[str, Any]:
        """The Pterodactyl simulator's summary, with node tags instead of locations."""
        summary = super().snapshot()
        with self.state.lock:
            for node in summary["nodes"]:
                node.pop("location_id", None)
                node["tags"] = list(getattr(self.state.nodes.get(node["id"]), "tags", []))
        return summary

    # --- the order of checks ----------------------------------------------------------

    def _dispatch(
        self, request: Request, route: Route, params: dict[str, str]
    ) -> tuple[Response, float]:
        ctx = Ctx(self, request, route, params)
        if route.api not in ("application", "client"):
            return route.handler(ctx), 0.0
        bindings.bind_models(ctx)  # 404 before 401
        self._authenticate(ctx)
        self._parse_body(ctx)
        self._authorize_key(ctx)
        if route.api == "application" and not ctx.user.root_admin:
            raise errors.forbidden("This account does not have permission to access the API.")
        headers = self._throttle(ctx)
        try:
            if route.api == "client":
                bindings.client_access(ctx)
                self._throttle_resource(ctx)
            elif route.acl and ctx.key.key_type == st.APPLICATION_KEY:
                resource, bit = route.acl
                if not ctx.key.can(resource, bit):
                    raise errors.forbidden()
            response = route.handler(ctx)
        except IncludeError:
            exc = errors.server_error("BadMethodCallException")
            exc.headers.update(headers)
            raise exc from None
        except errors.ApiError as exc:
            for name, value in headers.items():
                exc.headers.setdefault(name, value)
            raise
        response.headers.update(headers)
        return response, float(ctx.bound.get("delay", 0.0))

    def _authorize_key(self, ctx: Ctx) -> None:
        """The key's IP allow-list, then its type; Pelican applies no two-factor rule to
        the API."""
        key = ctx.key
        if key.allowed_ips and not _ip_allowed(ctx.req.remote_ip, key.allowed_ips):
            raise errors.forbidden(
                f"This IP address ({ctx.req.remote_ip}) does not have "
                "permission to access the API using these credentials."
            )
        if ctx.route.api == "client" and key.key_type == st.APPLICATION_KEY:
            raise errors.forbidden(
                "You are attempting to use an application API key on an "
                "endpoint that requires a client API key."
            )

    def _throttle_resource(self, ctx: Ctx) -> None:
        """The per-server limiter of this route, if it has one (all users share it)."""
        limiter = THROTTLED_ROUTES.get((ctx.req.method, ctx.route.pattern))
        if limiter is None:
            return
        count, seconds = self.switch("resource_limits")[limiter]
        key = (f"server-resource:{limiter}", ctx.bound["server"].uuid)
        self._take(key, count, seconds, time.time())
