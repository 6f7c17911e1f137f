"""The simulator: a threaded HTTP server playing a Pterodactyl panel and its Wings nodes.

    with Simulator(install_seconds=0) as sim:
        httpx.get(sim.url + "/api/application/users",
                  headers={"Authorization": f"Bearer {sim.application_key}",
                           "Accept": "application/json"})

Order of checks on ``/api/*`` follows docs/reference/pterodactyl_api.md §2.4 "Error format and
order of checks": route (404/405), key (401),
throttle (429), JSON body (400), key type / 2FA / IP (403/400), route-model binding
(404), admin and key ACL (403), client state gate (409), then the handler
(permission 403, validation 422, business rules 4xx/5xx).

Test switches (:meth:`Simulator.set_switches`, or ``POST /_simulator/switches``) make
Wings unreachable, run out of allocations, throttle, fail requests at the "proxy",
or delay a create's answer so the client times out.
"""

from __future__ import annotations

import copy
import fnmatch
import html
import ipaddress
import json
import logging
import math
import socket
import threading
import time
import uuid
from collections import Counter, deque
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self

from simulators.pterodactyl import errors
from simulators.pterodactyl import state as st
from simulators.pterodactyl.routing import (
    Ctx,
    Request,
    Response,
    Route,
    Router,
    clean_input,
)
from simulators.pterodactyl.transformers import AppRenderer, ClientRenderer, IncludeError

log = logging.getLogger(__name__)

WEBSOCKET_TOKEN_LIFETIME = 600  # seconds, as the panel signs them

SWITCH_DEFAULTS: dict[str, Any] = {
    "wings_down": False,
    "no_allocations": False,
    "rate_limit": 0,  # the next N API requests get 429
    "retry_after": 1,  # Retry-After of those 429s
    "fail_next": [],  # [{"count", "status", "path", "method", "body"}]
    "delay_next_create": 0.0,  # seconds the next server create's answer is held back
    "answer_delay": 0.0,  # seconds every API answer is held back (a slow or hung panel)
    "install_seconds": 1.0,
    "power_seconds": 1.0,
    "backup_seconds": 1.0,
    "install_result": "success",  # or "failed": how installs that finish from now end
    "application_rate_limit": 240,  # per minute and user, as the panel's default
    "client_rate_limit": 720,
    "backup_throttle": [2, 600],  # backups per server per N seconds
    "two_factor_required": 0,  # 1 admins, 2 everyone
    "auto_allocation": True,  # client API "add allocation"
    "websocket_token_seconds": WEBSOCKET_TOKEN_LIFETIME,
}
TIMING_SWITCHES = ("install_seconds", "power_seconds", "backup_seconds")
HTML_PAGES = {502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Time-out"}
REQUEST_LOG = 2000


class Simulator:
    """A simulated Pterodactyl panel (application + client API) and Wings (websocket).

    A subclass plays another panel of the same family (``simulators.pelican``): the class
    attributes and the ``_register_routes``, ``_new_state``, ``_seed``, ``wings_failure``,
    ``_coerce_switch`` and ``_dispatch`` methods are what it replaces.
    """

    label = "Pterodactyl"
    switch_defaults: dict[str, Any] = SWITCH_DEFAULTS
    thread_name = "pterodactyl-simulator"
    app_renderer: type = AppRenderer
    client_renderer: type = ClientRenderer
    permission_keys: frozenset[str] = frozenset(st.ALL_PERMISSIONS)  # subusers may hold
    refuse_ungranted_permissions = True  # granting one you lack: 403 (else dropped)
    string_max = 191  # the longest name, email... (Pterodactyl's MySQL 5 limit; Pelican 255)

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        seed: bool = True,
        *,
        install_seconds: float = 1.0,
        power_seconds: float = 1.0,
        backup_seconds: float = 1.0,
        application_key: str | None = None,
        client_key: str | None = None,
        public_host: str | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        # The rate limiter's clock: a bench runs it on the same virtual clock as pteroca's
        # request budget, so pacing costs no wall time and the limit is still exact.
        self.clock = clock
        self._httpd = ThreadingHTTPServer((host, port), _handler_class(self))
        self._httpd.daemon_threads = True
        self.host = host
        self.port = int(self._httpd.server_address[1])
        if public_host is None:
            public_host = "127.0.0.1" if _unspecified(host) else host
        self.public_host = public_host
        self.router = Router()
        self._register_routes(self.router)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._switch_lock = threading.Lock()
        self._switches: dict[str, Any] = copy.deepcopy(self.switch_defaults)
        self._initial_timings = {
            "install_seconds": float(install_seconds),
            "power_seconds": float(power_seconds),
            "backup_seconds": float(backup_seconds),
        }
        self._switches.update(self._initial_timings)
        self._buckets: dict[tuple[str, str], list[float]] = {}
        self._log: deque[dict[str, Any]] = deque(maxlen=REQUEST_LOG)
        self.status_counts: Counter[int] = Counter()  # every API answer's status, unbounded
        self._seeded = seed
        self.state = self._new_state()
        self.application_key, self.client_key = "", ""
        self._build_state(seed, application_key, client_key)

    # --- life cycle ------------------------------------------------------------

    @property
    def url(self) -> str:
        host = f"[{self.public_host}]" if ":" in self.public_host else self.public_host
        return f"http://{host}:{self.port}"

    def start(self) -> Self:
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._httpd.serve_forever, args=(0.05,), name=self.thread_name, daemon=True
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread = None
        self._httpd.server_close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    @property
    def stopping(self) -> threading.Event:
        return self._stop

    def _build_state(self, seed: bool, application_key: str | None, client_key: str | None) -> None:
        state = self._new_state()
        self._apply_timings(state)
        if seed:
            self._seed(state)
        self.application_key, self.client_key = st.seed_admin(
            state, application_key or None, client_key or None
        )
        self.state = state

    # --- what a panel of the family replaces ----------------------------------------

    def _register_routes(self, router: Router) -> None:
        from simulators.pterodactyl import routes

        routes.register(router)

    def _new_state(self) -> st.State:
        return st.State()

    def _seed(self, state: st.State) -> None:
        st.seed(state, self.public_host, self.port)

    def wings_failure(self) -> errors.ApiError | None:
        """What the panel answers when a call to Wings fails now, or None when Wings is up
        (docs/reference/pterodactyl_api.md §7.7 "Timeouts, retries and 5xx")."""
        if self.switch("wings_down"):
            return errors.daemon_unreachable()
        return None

    def _coerce_switch(self, name: str, value: Any, current: dict[str, Any]) -> dict[str, Any]:
        return _coerce_switch(name, value, current)

    def reset(self, seed: bool | None = None) -> None:
        """Forget every change: fresh seed data, the same two keys, switches to defaults
        (except the timings given to the constructor)."""
        with self.state.lock:
            with self._switch_lock:
                self._switches = copy.deepcopy(self.switch_defaults)
                self._switches.update(self._initial_timings)
            self._buckets.clear()
            self._seeded = self._seeded if seed is None else seed
            self._build_state(self._seeded, self.application_key, self.client_key)
            self._log.clear()

    # --- switches -----------------------------------------------------------------

    @property
    def switches(self) -> dict[str, Any]:
        with self._switch_lock:
            return copy.deepcopy(self._switches)

    def switch(self, name: str) -> Any:
        with self._switch_lock:
            return copy.deepcopy(self._switches[name])

    def set_switches(self, **changes: Any) -> dict[str, Any]:
        """Change switches; returns all of them. Raises ValueError on a bad name or value.

        ``rate_limit`` takes N or ``{"count": N, "retry_after": S}``; ``fail_next`` takes a
        rule ``{"count", "status" (502/503/504, or 0 to drop the connection), "path" (glob),
        "method", "body" ("html"|"json")}`` or a list of them (appended; ``[]`` clears);
        ``delay_next_create`` takes seconds.
        """
        with self._switch_lock:
            new = copy.deepcopy(self._switches)
            for name, value in changes.items():
                if name not in self.switch_defaults:
                    raise ValueError(
                        f"unknown switch {name!r}; known: "
                        + ", ".join(sorted(self.switch_defaults))
                    )
                new.update(self._coerce_switch(name, value, new))
            self._switches = new
            result = copy.deepcopy(new)
        self._apply_timings(self.state)
        return result

    def _apply_timings(self, state: st.State) -> None:
        sw = self._switches
        state.timings = st.Timings(sw["install_seconds"], sw["power_seconds"], sw["backup_seconds"])
        state.install_result = sw["install_result"]
        state.no_allocations = bool(sw["no_allocations"])

    def _take_fail_rule(self, method: str, path: str) -> dict[str, Any] | None:
        with self._switch_lock:
            for rule in self._switches["fail_next"]:
                if rule["method"] and rule["method"] != method:
                    continue
                if not fnmatch.fnmatchcase(path, rule["path"]):
                    continue
                rule["count"] -= 1
                if rule["count"] <= 0:
                    self._switches["fail_next"].remove(rule)
                return dict(rule)
        return None

    def _take_rate_limit(self) -> int | None:
        with self._switch_lock:
            if self._switches["rate_limit"] > 0:
                self._switches["rate_limit"] -= 1
                return int(self._switches["retry_after"])
        return None

    def take_create_delay(self) -> float:
        with self._switch_lock:
            delay = float(self._switches["delay_next_create"])
            self._switches["delay_next_create"] = 0.0
        return delay

    # --- test helpers -------------------------------------------------------------------

    def server(self, ref: int | str) -> st.Server:
        """A server by internal id, identifier or UUID (KeyError if none)."""
        with self.state.lock:
            if isinstance(ref, int) or (isinstance(ref, str) and ref.isdigit()):
                found = self.state.servers.get(int(ref))
            else:
                found = self.state.server_by_ref(ref)
            if found is None:
                raise KeyError(ref)
            return found

    def finish_install(self, ref: int | str, success: bool = True) -> None:
        """End a server's install now (as Wings reporting back would)."""
        with self.state.lock:
            server = self.server(ref)
            self.state.finish_install(server, success)

    def set_server_state(self, ref: int | str, **fields: Any) -> None:
        """Force ``status``, ``transferring`` or ``power_state`` of a server."""
        with self.state.lock:
            server = self.server(ref)
            for name, value in fields.items():
                if name == "status":
                    if value not in (
                        None,
                        "installing",
                        "install_failed",
                        "reinstall_failed",
                        "suspended",
                        "restoring_backup",
                    ):
                        raise ValueError(f"bad status {value!r}")
                    server.status = value
                    if value != "installing":
                        server.install_done_at = None
                elif name == "transferring":
                    server.transferring = bool(value)
                elif name == "power_state":
                    if value not in ("offline", "starting", "running", "stopping"):
                        raise ValueError(f"bad power_state {value!r}")
                    server.power_queue.clear()
                    server.power_state = value
                    server.started_at = time.time() if value == "running" else None
                else:
                    raise ValueError(f"cannot set {name!r}")

    def create_key(
        self,
        user_id: int,
        kind: str = "client",
        permissions: dict[str, int] | None = None,
        allowed_ips: list[str] | None = None,
    ) -> str:
        """A new API key for a user: ``kind`` "client" (ptlc_) or "application" (ptla_).

        Application keys get ``permissions`` (``{"r_servers": 3, ...}``; default all 3).
        """
        with self.state.lock:
            user = self.state.users.get(int(user_id))
            if user is None:
                raise ValueError(f"no user {user_id}")
            if kind == "application":
                perms = self.state.full_acl()
                if permissions is not None:
                    perms = dict.fromkeys(perms, 0)
                    perms.update({k: int(v) for k, v in permissions.items()})
                key = st.add_key(
                    self.state, user, st.APPLICATION_KEY, permissions=perms, allowed_ips=allowed_ips
                )
            elif kind == "client":
                key = st.add_key(self.state, user, st.ACCOUNT_KEY, allowed_ips=allowed_ips)
            else:
                raise ValueError("kind is 'client' or 'application'")
            return key.key

    def seed_users(self, emails: list[str]) -> list[int]:
        """Panel users for ``emails`` at once (for tests and benchmarks with many servers)."""
        out = []
        with self.state.lock:
            for email in emails:
                user_id = self.state.next_id("users")
                name = email.split("@")[0][:191]
                self.state.users[user_id] = st.User(
                    user_id, f"{name}{user_id}", email, name, "Seeded"
                )
                out.append(user_id)
        return out

    def seed_servers(
        self,
        owners: list[int],
        *,
        names: list[str],
        external_ids: list[str],
        node_id: int = 1,
        egg_id: int = 1,
        limits: dict[str, int] | None = None,
        ip: str = "10.99.0.10",
        first_port: int = 40000,
    ) -> list[int]:
        """Installed servers at once, one per owner/name/external id, each on a new allocation
        of ``ip`` on ``node_id`` from ``first_port`` up. ``limits``: memory, swap, disk, io,
        cpu, databases, allocations, backups (defaults: a small server)."""
        wanted = {
            "memory": 1024,
            "swap": 0,
            "disk": 5120,
            "io": 500,
            "cpu": 100,
            "databases": 0,
            "allocations": 1,
            "backups": 0,
            **(limits or {}),
        }
        out = []
        with self.state.lock:
            egg = self.state.eggs[egg_id]
            used = {(a.ip, a.port) for a in self.state.allocations.values()}
            port = first_port
            for owner, name, external in zip(owners, names, external_ids, strict=True):
                while (ip, port) in used:
                    port += 1
                alloc_id = self.state.next_id("allocations")
                alloc = st.Allocation(alloc_id, node_id, ip, port)
                self.state.allocations[alloc_id] = alloc
                used.add((ip, port))
                server = st.Server(
                    id=self.state.next_id("servers"),
                    uuid=str(uuid.uuid4()),
                    name=name,
                    owner_id=int(owner),
                    node_id=node_id,
                    allocation_id=alloc_id,
                    nest_id=egg.nest_id,
                    egg_id=egg.id,
                    startup=egg.startup,
                    image=next(iter(egg.docker_images.values()), ""),
                    memory=wanted["memory"],
                    swap=wanted["swap"],
                    disk=wanted["disk"],
                    io=wanted["io"],
                    cpu=wanted["cpu"],
                    external_id=external,
                    status=None,
                    database_limit=wanted["databases"],
                    allocation_limit=wanted["allocations"],
                    backup_limit=wanted["backups"],
                    installed_at=time.time(),
                )
                alloc.server_id = server.id
                self.state.servers[server.id] = server
                out.append(server.id)
        return out

    @property
    def requests(self) -> list[dict[str, Any]]:
        """Requests answered so far (method, path, query, status), oldest first."""
        return list(self._log)

    def clear_requests(self) -> None:
        self._log.clear()

    def snapshot(self) -> dict[str, Any]:
        """A JSON-able summary of the state (``GET /_simulator/state``)."""
        with self.state.lock:
            self.state.tick()
            s = self.state
            return {
                "url": self.url,
                "application_key": self.application_key,
                "client_key": self.client_key,
                "switches": self.switches,
                "users": [
                    {
                        "id": u.id,
                        "username": u.username,
                        "email": u.email,
                        "external_id": u.external_id,
                        "root_admin": u.root_admin,
                    }
                    for u in sorted(s.users.values(), key=lambda u: u.id)
                ],
                "servers": [
                    {
                        "id": x.id,
                        "uuid": x.uuid,
                        "identifier": x.identifier,
                        "name": x.name,
                        "external_id": x.external_id,
                        "status": x.status,
                        "power_state": x.power_state,
                        "transferring": x.transferring,
                        "user": x.owner_id,
                        "node": x.node_id,
                        "allocation": x.allocation_id,
                        "egg": x.egg_id,
                        "memory": x.memory,
                        "disk": x.disk,
                    }
                    for x in sorted(s.servers.values(), key=lambda x: x.id)
                ],
                "nodes": [
                    {
                        "id": n.id,
                        "name": n.name,
                        "location_id": n.location_id,
                        "public": n.public,
                        "maintenance_mode": n.maintenance_mode,
                        "allocations": sum(1 for a in s.allocations.values() if a.node_id == n.id),
                        "free_allocations": sum(
                            1
                            for a in s.allocations.values()
                            if a.node_id == n.id and self.state.is_free(a)
                        ),
                    }
                    for n in sorted(s.nodes.values(), key=lambda n: n.id)
                ],
                "counts": {
                    "locations": len(s.locations),
                    "nests": len(s.nests),
                    "eggs": len(s.eggs),
                    "backups": len(s.backups),
                    "databases": len(s.databases),
                    "schedules": len(s.schedules),
                    "subusers": len(s.subusers),
                    "api_keys": len(s.api_keys),
                },
            }

    # --- request handling ------------------------------------------------------------------

    def handle(self, h: BaseHTTPRequestHandler) -> None:
        if self._stop.is_set():  # stopped: a kept-alive connection is dropped, not answered
            h.close_connection = True
            return
        request = _read_request(h)
        if request is None:
            return
        started = time.time()
        if not request.path.startswith("/_simulator"):
            rule = self._take_fail_rule(request.method, request.path)
            if rule is not None:
                self._record(request, rule["status"], started)
                _write_failure(h, rule)
                return
        delay = 0.0
        try:
            route, params = self.router.match(request.method, request.path)
            if route.api == "wings" and route.pattern.endswith("/ws"):
                ctx = Ctx(self, request, route, params)
                ctx.bound["handler"] = h
                response = route.handler(ctx)
                if response.status == 101:
                    self._record(request, 101, started)
                    return
            else:
                with self.state.lock:
                    self.state.tick()
                    response, delay = self._dispatch(request, route, params)
        except errors.ApiError as exc:
            response = self._error_response(request, exc)
        except Exception:  # the panel's catch-all: a generic 500
            log.exception("simulator error on %s %s", request.method, request.path)
            response = self._error_response(request, errors.server_error("ErrorException"))
        self._record(request, response.status, started)
        if not request.path.startswith("/_simulator"):
            delay = max(delay, float(self.switch("answer_delay")))
        if delay > 0:  # the create happened; its answer comes too late for the client
            self._stop.wait(delay)
        _write_response(h, request, response)

    def _record(self, request: Request, status: int, started: float) -> None:
        if request.path.startswith("/_simulator"):
            return
        with self._switch_lock:
            self.status_counts[status] += 1
        self._log.append(
            {
                "method": request.method,
                "path": request.path,
                "query": request.query_string,
                "status": status,
                "at": started,
            }
        )

    def _dispatch(
        self, request: Request, route: Route, params: dict[str, str]
    ) -> tuple[Response, float]:
        ctx = Ctx(self, request, route, params)
        if route.api not in ("application", "client"):
            return route.handler(ctx), 0.0
        self._authenticate(ctx)
        headers = self._throttle(ctx)
        try:
            response = self._authorized(ctx)
        except IncludeError:
            exc = errors.server_error("BadMethodCallException")
            exc.headers.update(headers)
            raise exc from None
        except errors.ApiError as exc:  # a throttled-through request reports its budget
            for name, value in headers.items():
                exc.headers.setdefault(name, value)
            raise
        response.headers.update(headers)
        return response, float(ctx.bound.get("delay", 0.0))

    def _authorized(self, ctx: Ctx) -> Response:
        """JSON body, key type/2FA/IP, bindings, admin and ACL, state gate, then the handler."""
        from simulators.pterodactyl import bindings

        self._parse_body(ctx)
        self._authorize_key(ctx)
        if ctx.route.api == "application":
            bindings.bind_application(ctx)
            if not ctx.user.root_admin:
                raise errors.forbidden("This account does not have permission to access the API.")
            if ctx.route.acl and ctx.key.key_type == st.APPLICATION_KEY:
                resource, bit = ctx.route.acl
                if not ctx.key.can(resource, bit):
                    raise errors.forbidden()
        else:
            bindings.bind_client(ctx)
        return ctx.route.handler(ctx)

    def _authenticate(self, ctx: Ctx) -> None:
        header = ctx.req.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        token = token.strip()
        key = None
        if scheme.lower() == "bearer" and len(token) == 48:
            candidate = self.state.api_keys.get(token[:16])
            if candidate is not None and _same(candidate.token, token[16:]):
                key = candidate
        user = self.state.users.get(key.user_id) if key else None
        if key is None or user is None:
            raise errors.ApiError(401, "AuthenticationException", "Unauthenticated.")
        key.last_used_at = time.time()
        ctx.key, ctx.user = key, user

    def _throttle(self, ctx: Ctx) -> dict[str, str]:
        api = ctx.route.api
        limit = int(self.switch(f"{api}_rate_limit"))
        forced = self._take_rate_limit()
        now = self.clock()
        if forced is not None:
            raise too_many_attempts(forced, now + forced, limit)
        bucket = self._take((api, ctx.user.uuid), limit, 60, now)
        return {
            "X-RateLimit-Limit": str(limit),
            "X-RateLimit-Remaining": str(max(0, limit - int(bucket[0]))),
        }

    def _take(self, key: Any, limit: int, seconds: float, now: float) -> list:
        """Count one request in ``key``'s window of ``seconds`` (a new window once it is
        over); 429 when ``limit`` were already counted. Returns the bucket [count, end]."""
        bucket = self._buckets.get(key)
        if bucket is None or now >= bucket[1]:
            bucket = [0, now + seconds]
            self._buckets[key] = bucket
        if bucket[0] >= limit:
            raise too_many_attempts(max(1, math.ceil(bucket[1] - now)), bucket[1], limit)
        bucket[0] += 1
        return bucket

    def _parse_body(self, ctx: Ctx) -> None:
        req = ctx.req
        trim = "/files" not in req.path
        if req.is_json and req.raw_body.strip():
            try:
                body = json.loads(req.raw_body.decode("utf-8"))
            except (ValueError, UnicodeDecodeError):
                raise errors.bad_request(
                    "The JSON data passed in the request appears to be malformed: Syntax error"
                ) from None
            req.body = clean_input(body, trim)
        elif "application/x-www-form-urlencoded" in req.headers.get("content-type", ""):
            from urllib.parse import parse_qsl

            from simulators.pterodactyl.routing import php_query

            pairs = parse_qsl(req.raw_body.decode("utf-8", "replace"), keep_blank_values=True)
            req.body = clean_input(php_query(pairs), trim)
        else:
            req.body = {}

    def _authorize_key(self, ctx: Ctx) -> None:
        key, user = ctx.key, ctx.user
        if ctx.route.api == "client" and key.key_type == st.APPLICATION_KEY:
            raise errors.forbidden(
                "You are attempting to use an application API key on an "
                "endpoint that requires a client API key."
            )
        required = int(self.switch("two_factor_required"))
        if required and not user.use_totp and (required == 2 or user.root_admin):
            raise errors.ApiError(
                400,
                "TwoFactorAuthRequiredException",
                "Two-factor authentication is required on this account in "
                "order to access this endpoint.",
            )
        if key.allowed_ips:
            ip = ctx.req.remote_ip
            if not _ip_allowed(ip, key.allowed_ips):
                raise errors.forbidden(
                    f"This IP address ({ip}) does not have permission to "
                    "access the API using these credentials."
                )

    def _error_response(self, request: Request, exc: errors.ApiError) -> Response:
        if not request.wants_json and request.path.startswith("/api/"):
            if exc.status == 401:
                return Response(
                    302,
                    b"",
                    {"Location": f"{self.url}/auth/login"},
                    content_type="text/html; charset=UTF-8",
                )
            page = (
                f"<!DOCTYPE html><html><head><title>{exc.status}</title></head><body>"
                f"<h1>{exc.status}</h1><p>{html.escape(exc.detail)}</p></body></html>"
            )
            return Response(
                exc.status,
                page.encode(),
                dict(exc.headers),
                content_type="text/html; charset=UTF-8",
            )
        return Response(exc.status, exc.body(), dict(exc.headers))


def too_many_attempts(retry_after: int, reset: float, limit: int) -> errors.ApiError:
    """Laravel's throttle answer: 429 with when to come back and the limit that was hit."""
    return errors.ApiError(
        429,
        "ThrottleRequestsException",
        "Too Many Attempts.",
        headers={
            "Retry-After": str(retry_after),
            "X-RateLimit-Reset": str(int(reset)),
            "X-RateLimit-Limit": str(limit),
            "X-RateLimit-Remaining": "0",
        },
    )


def _unspecified(host: str) -> bool:
    """Bound to every interface (then links and sockets point at 127.0.0.1)."""
    if not host:
        return True
    try:
        return ipaddress.ip_address(host).is_unspecified
    except ValueError:
        return False


def _same(a: str, b: str) -> bool:
    import hmac

    return hmac.compare_digest(a.encode(), b.encode())


def _ip_allowed(ip: str, allowed: list[str]) -> bool:
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:
        return False
    for entry in allowed:
        try:
            if addr in ipaddress.ip_network(entry, strict=False):
                return True
        except ValueError:
            continue
    return False


def _coerce_switch(name: str, value: Any, current: dict[str, Any]) -> dict[str, Any]:
    """Validate one switch value; returns the switch entries to update."""
    if name in ("wings_down", "no_allocations", "auto_allocation"):
        return {name: bool(value)}
    if name == "rate_limit":
        if isinstance(value, dict):
            out = {"rate_limit": int(value.get("count", 1))}
            if "retry_after" in value:
                out["retry_after"] = max(0, int(value["retry_after"]))
            return out
        return {"rate_limit": max(0, int(value))}
    if name == "retry_after":
        return {name: max(0, int(value))}
    if name == "fail_next":
        if value in (None, [], 0):
            return {"fail_next": []}
        rules = value if isinstance(value, list) else [value]
        parsed = list(current["fail_next"])
        for rule in rules:
            if isinstance(rule, int):
                rule = {"count": rule}
            if not isinstance(rule, dict):
                raise ValueError("fail_next takes a rule object or a list of them")
            status = int(rule.get("status", 503))
            if status not in (0, 500, 502, 503, 504):
                raise ValueError("fail_next status is 500, 502, 503, 504 or 0 (drop)")
            body = rule.get("body") or ("json" if status in (500, 503) else "html")
            if body not in ("json", "html"):
                raise ValueError("fail_next body is 'json' or 'html'")
            parsed.append(
                {
                    "count": max(1, int(rule.get("count", 1))),
                    "status": status,
                    "path": str(rule.get("path") or "*"),
                    "method": str(rule["method"]).upper() if rule.get("method") else "",
                    "body": body,
                }
            )
        return {"fail_next": parsed}
    if name == "answer_delay":
        return {name: max(0.0, float(value))}
    if name == "delay_next_create":
        seconds = value.get("seconds", 0) if isinstance(value, dict) else value
        return {name: max(0.0, float(seconds or 0))}
    if name in TIMING_SWITCHES:
        return {name: max(0.0, float(value))}
    if name == "install_result":
        if value not in ("success", "failed"):
            raise ValueError("install_result is 'success' or 'failed'")
        return {name: value}
    if name in ("application_rate_limit", "client_rate_limit", "websocket_token_seconds"):
        return {name: max(1, int(value))}
    if name == "backup_throttle":
        count, period = (int(v) for v in value)
        return {name: [max(0, count), max(1, period)]}
    if name == "two_factor_required":
        if int(value) not in (0, 1, 2):
            raise ValueError("two_factor_required is 0, 1 or 2")
        return {name: int(value)}
    return {name: value}


# --- HTTP plumbing ----------------------------------------------------------------------------


def _handler_class(sim: Simulator) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "nginx"
        sys_version = ""

        def setup(self) -> None:
            super().setup()
            # headers and body go out in separate writes: without this, Nagle's algorithm
            # and the client's delayed ACK add ~40 ms to every answer
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            sim.handle(self)

        do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = do_GET

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            log.debug("simulator: " + format, *args)

    return Handler


def _read_request(h: BaseHTTPRequestHandler) -> Request | None:
    path, _, query = h.path.partition("?")
    headers = {k.lower(): v for k, v in h.headers.items()}
    body = b""
    try:
        if headers.get("transfer-encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(h.rfile.readline().strip() or b"0", 16)
                if size == 0:
                    h.rfile.readline()
                    break
                chunks.append(h.rfile.read(size))
                h.rfile.readline()
            body = b"".join(chunks)
        else:
            length = int(headers.get("content-length") or 0)
            if length:
                body = h.rfile.read(length)
    except (ValueError, OSError):
        h.close_connection = True
        return None
    return Request(h.command, path or "/", query, headers, body, h.client_address[0])


def _write_response(h: BaseHTTPRequestHandler, request: Request, response: Response) -> None:
    if response.status == 204 or response.body is None:
        payload = b""
    elif isinstance(response.body, bytes):
        payload = response.body
    elif isinstance(response.body, str):
        payload = response.body.encode()
    else:
        payload = json.dumps(response.body).encode()
    try:
        h.send_response(response.status)
        if response.status != 204:
            h.send_header("Content-Type", response.content_type)
        for name, value in response.headers.items():
            h.send_header(name, value)
        if h.close_connection:
            h.send_header("Connection", "close")
        h.send_header("Content-Length", "0" if response.status == 204 else str(len(payload)))
        h.end_headers()
        if request.method != "HEAD" and response.status != 204:
            h.wfile.write(payload)
        h.wfile.flush()
    except OSError:  # the client went away (a timed-out create, say)
        h.close_connection = True


def _write_failure(h: BaseHTTPRequestHandler, rule: dict[str, Any]) -> None:
    status = rule["status"]
    if status == 0:  # drop the connection without answering
        h.close_connection = True
        return
    if rule["body"] == "json":
        title = HTML_PAGES.get(status, "Server Error")
        if status == 500:
            body: Any = errors.server_error().body()
        else:
            body = {"errors": [{"code": "HttpException", "status": str(status), "detail": title}]}
        response = Response(status, body)
    else:
        title = HTML_PAGES.get(status, "Server Error")
        page = (
            f"<html>\r\n<head><title>{status} {title}</title></head>\r\n<body>\r\n"
            f"<center><h1>{status} {title}</h1></center>\r\n<hr><center>nginx</center>\r\n"
            "</body>\r\n</html>\r\n"
        )
        response = Response(status, page.encode(), content_type="text/html")
    _write_response(h, Request(h.command, "/", "", {}, b"", ""), response)
