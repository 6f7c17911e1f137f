"""``/api/application/roles`` and a user's role assignment (docs/reference/pelican_api.md
§3.5 "Roles and admin rights"): Pelican's replacement for Pterodactyl's ``root_admin`` flag.

The Root Admin role cannot be renamed or deleted (a 500 ``PanelException``), and it is never
given or taken through the assignment routes; for a user who already is Root Admin both
routes change nothing.
"""

from __future__ import annotations

from typing import Any

from simulators.pelican import state as pst
from simulators.pterodactyl import errors
from simulators.pterodactyl import state as st
from simulators.pterodactyl.common import apply_filters, apply_sort, exists, int_or_none, partial
from simulators.pterodactyl.routing import Ctx, Response, Router, no_content
from simulators.pterodactyl.transformers import collection, item, paginate
from simulators.pterodactyl.validation import validate

PREFIX = "/api/application"
R, W = st.READ, st.WRITE


def register(r: Router) -> None:
    def add(method: str, path: str, handler: Any, acl: tuple[str, int]) -> None:
        r.add(method, PREFIX + path, handler, api="application", acl=acl)

    add("GET", "/roles", roles_index, ("role", R))
    add("GET", "/roles/{role}", roles_view, ("role", R))
    add("POST", "/roles", roles_store, ("role", W))
    add("PATCH", "/roles/{role}", roles_update, ("role", W))
    add("DELETE", "/roles/{role}", roles_delete, ("role", W))
    add("PATCH", "/users/{user}/roles/assign", users_assign, ("user", W))
    add("PATCH", "/users/{user}/roles/remove", users_remove, ("user", W))


def bind_role(ctx: Ctx) -> None:
    """``{role}`` -> the role, or the generic 404 (before authentication, as every model)."""
    if "role" in ctx.params:
        raw = ctx.params["role"]
        role = ctx.state.roles.get(int(raw)) if raw.isdigit() else None
        if role is None:
            raise errors.not_found()
        ctx.bound["role"] = role


def render(role: pst.Role, inc: dict | None = None) -> dict[str, Any]:
    body = item(
        "role",
        {
            "id": role.id,
            "name": role.name,
            "created_at": st.atom(role.created_at),
            "updated_at": st.atom(role.updated_at),
        },
    )
    if inc and "permissions" in inc:  # none can be granted through the API
        body["attributes"]["relationships"] = {"permissions": collection([])}
    return body


def roles_index(ctx: Ctx) -> Response:
    roles = apply_filters(
        ctx,
        ctx.state.roles.values(),
        {"id": partial(lambda x: x.id), "name": partial(lambda x: x.name)},
    )
    roles = apply_sort(ctx, roles, {"id": lambda x: x.id, "name": lambda x: x.name})
    inc = ctx.includes()
    return Response(200, paginate(roles, lambda x: render(x, inc), ctx.page(default=10)))


def roles_view(ctx: Ctx) -> Response:
    return Response(200, render(ctx.bound["role"], ctx.includes()))


def roles_store(ctx: Ctx) -> Response:
    validate(ctx.data, {"name": "required|string"})
    role = pst.Role(ctx.state.next_id("roles"), ctx.data["name"])
    ctx.state.roles[role.id] = role
    body = render(role, ctx.includes())
    body["meta"] = {"resource": ctx.url(f"{PREFIX}/roles/{role.id}")}
    return Response(201, body)


def _not_root(role: pst.Role) -> None:
    if role.name == pst.ROOT_ADMIN:
        raise errors.server_error("PanelException")


def roles_update(ctx: Ctx) -> Response:
    role = ctx.bound["role"]
    _not_root(role)
    validate(ctx.data, {"name": "required|string"})
    role.name, role.updated_at = ctx.data["name"], st.now()
    return Response(200, render(role, ctx.includes()))


def roles_delete(ctx: Ctx) -> Response:
    role = ctx.bound["role"]
    _not_root(role)
    del ctx.state.roles[role.id]
    for held in ctx.state.user_roles.values():
        held.discard(role.id)
    return no_content()


def _change(ctx: Ctx, add: bool) -> Response:
    s, user = ctx.state, ctx.bound["user"]
    validate(
        ctx.data,
        {
            "roles": "required|array",
            "roles.*": ["integer", exists(lambda v: int_or_none(v) in s.roles)],
        },
    )
    if not user.root_admin:
        held = s.user_roles.setdefault(user.id, set())
        for role_id in (int(v) for v in ctx.data["roles"]):
            if role_id == s.root_role.id:
                continue  # never through this route
            (held.add if add else held.discard)(role_id)
    return Response(200, ctx.app().user(user, ctx.includes()))


def users_assign(ctx: Ctx) -> Response:
    return _change(ctx, True)


def users_remove(ctx: Ctx) -> Response:
    return _change(ctx, False)
