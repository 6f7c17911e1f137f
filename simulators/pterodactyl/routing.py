"""Routes, the parsed request and the per-request context handlers work with."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from simulators.pterodactyl import errors
from simulators.pterodactyl import state as st
from simulators.pterodactyl.transformers import (
    AppRenderer,
    ClientRenderer,
    Page,
    parse_includes,
)

if TYPE_CHECKING:
    from simulators.pterodactyl.app import Simulator


@dataclass
class Response:
    status: int = 200
    body: Any = None  # dict/list -> JSON; bytes -> as is; None -> empty
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json"


def no_content() -> Response:
    return Response(204)


def accepted() -> Response:
    """The client API's 202 with the body ``[]``."""
    return Response(202, [])


@dataclass
class Route:
    methods: tuple[str, ...]
    pattern: str
    regex: re.Pattern[str]
    handler: Callable[[Ctx], Response]
    api: str  # application | client | wings | control | page
    acl: tuple[str, int] | None = None  # application: (resource, READ/WRITE)
    gate: str = "yes"  # client server routes: yes | no (details) | ws (websocket)


class Router:
    def __init__(self) -> None:
        self.routes: list[Route] = []

    def add(
        self,
        methods: str | tuple[str, ...],
        pattern: str,
        handler: Callable[[Ctx], Response],
        *,
        api: str,
        acl: tuple[str, int] | None = None,
        gate: str = "yes",
    ) -> None:
        if isinstance(methods, str):
            methods = (methods,)
        regex = re.compile(
            "^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", pattern.rstrip("/") or "/") + "/?$"
        )
        self.routes.append(Route(tuple(methods), pattern, regex, handler, api, acl, gate))

    def override(self, method: str, pattern: str, handler: Callable[[Ctx], Response]) -> None:
        """Give the route ``method pattern`` another handler (a panel of the same family
        answering one endpoint differently); a route that does not exist is a bug here."""
        for route in self.routes:
            if route.pattern == pattern and method in route.methods:
                route.handler = handler
                return
        raise KeyError(f"no route {method} {pattern} to override")

    def drop(self, prefix: str) -> None:
        """Forget every route under ``prefix`` (they answer the router's 404 from now)."""
        self.routes = [
            r for r in self.routes if r.pattern != prefix and not r.pattern.startswith(prefix + "/")
        ]

    def match(self, method: str, path: str) -> tuple[Route, dict[str, str]]:
        allowed: list[str] = []
        for route in self.routes:
            found = route.regex.match(path)
            if not found:
                continue
            if method in route.methods or (method == "HEAD" and "GET" in route.methods):
                return route, found.groupdict()
            allowed.extend(m for m in route.methods if m not in allowed)
        bare = path.strip("/")
        if allowed:
            if "GET" in allowed and "HEAD" not in allowed:
                allowed.insert(allowed.index("GET") + 1, "HEAD")
            raise errors.ApiError(
                405,
                "MethodNotAllowedHttpException",
                f"The {method} method is not supported for route {bare}. "
                f"Supported methods: {', '.join(allowed)}.",
            )
        raise errors.not_found(f"The route {bare} could not be found.")


def php_query(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """PHP-style nesting: ``filter[email]=x&include[]=a`` -> ``{"filter": .., "include": [..]}``."""
    out: dict[str, Any] = {}
    for raw_key, value in pairs:
        match = re.match(r"^([^\[]+)((?:\[[^\]]*\])*)$", raw_key)
        if not match:
            out[raw_key] = value
            continue
        name, rest = match.group(1), match.group(2)
        keys = re.findall(r"\[([^\]]*)\]", rest)
        if not keys:
            out[name] = value
            continue
        container = out.setdefault(name, [] if keys[0] == "" else {})
        for depth, key in enumerate(keys):
            last = depth == len(keys) - 1
            if isinstance(container, list):
                if last:
                    container.append(value)
                else:
                    nxt: Any = [] if keys[depth + 1] == "" else {}
                    container.append(nxt)
                    container = nxt
                continue
            if key == "":
                key = str(len(container))
            if last:
                container[key] = value
            else:
                container = container.setdefault(key, [] if keys[depth + 1] == "" else {})
    return out


def clean_input(value: Any, trim: bool = True, key: str = "") -> Any:
    """Laravel's TrimStrings and ConvertEmptyStringsToNull middleware."""
    if isinstance(value, dict):
        return {k: clean_input(v, trim, str(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [clean_input(v, trim) for v in value]
    if isinstance(value, str):
        if trim and key not in ("password", "password_confirmation", "current_password"):
            value = value.strip()
        return None if value == "" else value
    return value


@dataclass
class Request:
    method: str
    path: str
    query_string: str
    headers: dict[str, str]  # lower-case names
    raw_body: bytes
    remote_ip: str
    body: Any = None
    query_pairs: list[tuple[str, str]] = field(default_factory=list)
    query: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.query_pairs = parse_qsl(self.query_string, keep_blank_values=True)
        self.query = php_query(self.query_pairs)

    @property
    def wants_json(self) -> bool:
        accept = self.headers.get("accept", "")
        return "/json" in accept or "+json" in accept

    @property
    def is_json(self) -> bool:
        ctype = self.headers.get("content-type", "")
        return "/json" in ctype or "+json" in ctype


@dataclass
class Ctx:
    """Everything a handler needs: the simulator, the request, who asks, bound models."""

    sim: Simulator
    req: Request
    route: Route
    params: dict[str, str]
    key: st.ApiKey | None = None
    user: st.User | None = None
    bound: dict[str, Any] = field(default_factory=dict)

    @property
    def state(self) -> st.State:
        return self.sim.state

    @property
    def data(self) -> dict[str, Any]:
        return self.req.body if isinstance(self.req.body, dict) else {}

    def base_url(self) -> str:
        host = self.req.headers.get("host")
        return f"http://{host}" if host else self.sim.url

    def url(self, path: str) -> str:
        return self.base_url() + path

    def includes(self) -> dict[str, dict]:
        return parse_includes(self.req.query.get("include"))

    def app(self) -> AppRenderer:
        return self.sim.app_renderer(self.state, self.key, self.base_url())

    def client(self) -> ClientRenderer:
        return self.sim.client_renderer(self.state, self.user, self.can)

    def page(
        self, default: int = 50, maximum: int | None = None, client: bool = False, zero: int = 15
    ) -> Page:
        def as_int(raw: Any) -> int | None:
            try:
                return int(str(raw).strip())
            except (TypeError, ValueError):
                return None

        page = as_int(self.req.query.get("page"))
        per_page_raw = self.req.query.get("per_page")
        per_page = default if per_page_raw is None else (as_int(per_page_raw) or 0)
        if per_page <= 0:
            per_page = zero
        if maximum is not None:
            per_page = min(per_page, maximum)
        return Page(
            page=page if page and page >= 1 else 1,
            per_page=per_page,
            url=self.url(self.req.path.rstrip("/") or "/"),
            query=list(self.req.query_pairs) if client else None,
        )

    # --- client permissions -------------------------------------------------

    def permissions(self, server: st.Server) -> list[str]:
        user = self.user
        if user is None:
            return []
        if user.root_admin:
            return [
                "*",
                "admin.websocket.errors",
                "admin.websocket.install",
                "admin.websocket.transfer",
            ]
        if server.owner_id == user.id:
            return ["*"]
        sub = self.state.subuser_of(server, user)
        return list(sub.permissions) if sub else []

    def can(self, server: st.Server, permission: str) -> bool:
        perms = self.permissions(server)
        return "*" in perms or permission in perms

    def require(self, permission: str, detail: str | None = None) -> None:
        server = self.bound["server"]
        if not self.can(server, permission):
            if detail:
                raise errors.http_forbidden(detail)
            raise errors.forbidden()
