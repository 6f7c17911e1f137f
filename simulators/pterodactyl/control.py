"""``/_simulator/*``: the test-control endpoints, and a small index page at ``/``.

    GET  /_simulator/state                   a summary (keys, switches, users, servers, nodes)
    GET  /_simulator/switches                the switches
    POST /_simulator/switches                change some: {"wings_down": true, ...}
    POST /_simulator/reset                   fresh seed data, same keys, default switches
    POST /_simulator/servers/{id}/install    finish an install now: {"success": true}
    POST /_simulator/servers/{id}/state      force {"status", "transferring", "power_state"}
    POST /_simulator/keys                    {"user_id", "type": "client"|"application",
                                              "permissions"?, "allowed_ips"?} -> {"key"}
    GET  /_simulator/requests                requests answered so far; DELETE clears them

A bad control request answers 400 ``{"error": "..."}``.
"""

from __future__ import annotations

import html
import json
from typing import Any

from simulators.pterodactyl.routing import Ctx, Response, Router


def register(r: Router) -> None:
    def add(method: str, path: str, handler: Any) -> None:
        r.add(method, "/_simulator" + path, handler, api="control")

    add("GET", "/state", state)
    add("GET", "/switches", switches)
    add("POST", "/switches", set_switches)
    add("POST", "/reset", reset)
    add("POST", "/servers/{server}/install", finish_install)
    add("POST", "/servers/{server}/state", server_state)
    add("POST", "/keys", create_key)
    add("GET", "/requests", requests)
    add("DELETE", "/requests", clear_requests)
    r.add("GET", "/", index, api="page")


def _body(ctx: Ctx) -> dict[str, Any]:
    if not ctx.req.raw_body.strip():
        return {}
    try:
        body = json.loads(ctx.req.raw_body.decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValueError(f"the body is not JSON: {exc}") from None
    if not isinstance(body, dict):
        raise ValueError("the body must be a JSON object")
    return body


def _guard(fn: Any) -> Any:
    def wrapped(ctx: Ctx) -> Response:
        try:
            return fn(ctx)
        except (ValueError, KeyError, TypeError) as exc:
            message = str(exc) if not isinstance(exc, KeyError) else f"not found: {exc}"
            return Response(400, {"error": message})

    return wrapped


@_guard
def state(ctx: Ctx) -> Response:
    return Response(200, ctx.sim.snapshot())


@_guard
def switches(ctx: Ctx) -> Response:
    return Response(200, ctx.sim.switches)


@_guard
def set_switches(ctx: Ctx) -> Response:
    return Response(200, ctx.sim.set_switches(**_body(ctx)))


@_guard
def reset(ctx: Ctx) -> Response:
    body = _body(ctx)
    ctx.sim.reset(seed=body.get("seed"))
    return Response(200, ctx.sim.snapshot())


@_guard
def finish_install(ctx: Ctx) -> Response:
    body = _body(ctx)
    ctx.sim.finish_install(ctx.params["server"], bool(body.get("success", True)))
    return Response(204)


@_guard
def server_state(ctx: Ctx) -> Response:
    ctx.sim.set_server_state(ctx.params["server"], **_body(ctx))
    return Response(204)


@_guard
def create_key(ctx: Ctx) -> Response:
    body = _body(ctx)
    key = ctx.sim.create_key(
        int(body.get("user_id", 1)),
        str(body.get("type", "client")),
        body.get("permissions"),
        body.get("allowed_ips"),
    )
    return Response(201, {"key": key})


@_guard
def requests(ctx: Ctx) -> Response:
    return Response(200, {"requests": ctx.sim.requests})


@_guard
def clear_requests(ctx: Ctx) -> Response:
    ctx.sim.clear_requests()
    return Response(204)


def index(ctx: Ctx) -> Response:
    sim = ctx.sim
    rows = "".join(
        f"<tr><th>{html.escape(k)}</th><td><code>{html.escape(str(v))}</code></td></tr>"
        for k, v in (
            ("Panel URL", sim.url),
            ("Application key", sim.application_key),
            ("Client key (root admin)", sim.client_key),
        )
    )
    title = f"{html.escape(sim.label)} simulator"
    page = (
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>"
        + title
        + "</title></head><body><h1>"
        + title
        + "</h1>"
        f"<table>{rows}</table><p>State: <a href='/_simulator/state'>/_simulator/state"
        "</a></p></body></html>"
    )
    return Response(200, page.encode(), content_type="text/html; charset=UTF-8")
