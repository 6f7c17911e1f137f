"""``/api/application/users`` writes as Pelican does them (docs/reference/pelican_api.md
§3.1 "Users"): no first or last name, no username pattern, no ``root_admin`` (roles decide),
email and username lower-cased, language and timezone from fixed lists, and a delete that
refuses the caller and answers a Root Admin with a bare 403.
"""

from __future__ import annotations

import re
import secrets
import zoneinfo
from functools import cache
from typing import Any

from simulators.pelican import state as pst
from simulators.pterodactyl import application_api as ptero
from simulators.pterodactyl import errors
from simulators.pterodactyl import state as st
from simulators.pterodactyl.common import unique
from simulators.pterodactyl.routing import Ctx, Response
from simulators.pterodactyl.validation import Rule, to_bool, validate

PREFIX = ptero.PREFIX
ok = ptero.ok
USER_ATTRIBUTES = {
    "external_id": "Third Party Identifier",
    "is_managed_externally": "Is managed by Third Party?",
}
# ICU's locale ids (``ResourceBundle::getLocales``): language, optional script and region;
# a pattern stands in for the list
LOCALE = re.compile(r"^[a-z]{2,3}(_[A-Z][a-z]{3})?(_([A-Z]{2}|\d{3}))?$")


@cache
def timezones() -> frozenset[str]:
    """PHP's ``DateTimeZone::listIdentifiers()``: the canonical Area/City names and UTC."""
    return frozenset(
        z
        for z in zoneinfo.available_timezones()
        if z == "UTC"
        or (
            z.split("/")[0]
            in {
                "Africa",
                "America",
                "Antarctica",
                "Arctic",
                "Asia",
                "Atlantic",
                "Australia",
                "Europe",
                "Indian",
                "Pacific",
            }
        )
    )


def _user_rules(s: st.State, ignore: st.User | None) -> dict[str, Any]:
    """docs/reference/pelican_api.md §3.1 "Users": no names, no username pattern."""
    others = [u for u in s.users.values() if ignore is None or u.id != ignore.id]
    return {
        "email": [
            "required",
            "email",
            "between:1,255",
            unique(lambda v: isinstance(v, str) and any(u.email == v for u in others)),
        ],
        "username": [
            "required",
            "between:1,255",
            unique(lambda v: any(u.username == str(v) for u in others)),
        ],
        "password": "sometimes|nullable|string",
        "external_id": [
            "sometimes",
            "nullable",
            "string",
            "max:255",
            unique(lambda v: any(u.external_id == v for u in others)),
        ],
        "is_managed_externally": "boolean",
        "language": [
            "string",
            Rule("in", lambda v: isinstance(v, str) and LOCALE.match(v) is not None),
        ],
        "timezone": ["string", Rule("in", lambda v: v in timezones())],
    }


def users_store(ctx: Ctx) -> Response:
    s, data = ctx.state, ctx.data
    validate(data, _user_rules(s, None), USER_ATTRIBUTES)
    user = pst.new_user(
        s.next_id("users"),
        str(data["username"]).lower(),
        str(data["email"]).lower(),
        external_id=data.get("external_id"),
        language=data.get("language") or "en",
        is_managed_externally=to_bool(data.get("is_managed_externally") or False),
        timezone=data.get("timezone") or "UTC",
    )
    user.set_password(data.get("password") or secrets.token_urlsafe(24))
    s.users[user.id] = user
    body = ctx.app().user(user, ctx.includes())
    body["meta"] = {"resource": ctx.url(f"{PREFIX}/users/{user.id}")}
    return ok(body, 201)


def users_update(ctx: Ctx) -> Response:
    s, data, user = ctx.state, ctx.data, ctx.bound["user"]
    validate(data, _user_rules(s, user), USER_ATTRIBUTES)
    user.email = str(data["email"]).lower()
    user.username = str(data["username"]).lower()
    if "external_id" in data:
        user.external_id = data["external_id"]
    if data.get("is_managed_externally") is not None:
        user.is_managed_externally = to_bool(data["is_managed_externally"])
    if data.get("language"):
        user.language = data["language"]
    if data.get("timezone"):
        user.timezone = data["timezone"]
    if data.get("password"):
        user.set_password(data["password"])
    user.updated_at = st.now()
    return ok(ctx.app().user(user, ctx.includes()))


def users_delete(ctx: Ctx) -> Response:
    user = ctx.bound["user"]
    if user.root_admin:
        return Response(403, [])  # the Root Admin policy answers with an empty body
    if user.id == ctx.user.id:
        raise errors.display("Cannot delete your own user account.")
    ctx.state.user_roles.pop(user.id, None)
    return ptero.users_delete(ctx)
