"""The startup tab: the egg variables a plan shows customers, and changing them."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _

from builtin_plugins.panel_kit.tabs.access import Access
from builtin_plugins.panel_kit.tabs.actions import TabError, config, record, require, with_client


@dataclass
class StartupVariable:
    __template_fields__ = (
        "env",
        "name",
        "description",
        "value",
        "default",
        "rules",
        "editable",
        "from_plan",
        "required",
    )

    env: str
    name: str
    description: str
    value: str
    default: str
    rules: str
    editable: bool
    from_plan: bool = False  # a slot variable: its value is what the plan paid for
    required: bool = False  # the egg's rules require a value


def _client_variable(item: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": str(item.get("name") or item.get("env_variable")),
        "description": str(item.get("description") or ""),
        "value": "" if item.get("server_value") is None else str(item.get("server_value")),
        "default": str(item.get("default_value") or ""),
        "rules": str(item.get("rules") or ""),
        "panel_editable": bool(item.get("is_editable")),
    }


def _startup_data(access: Access, client, wanted: Iterable[str]) -> tuple[dict, dict]:
    """``({ENV: variable fields}, meta)`` for ``wanted``: from the client API's startup
    listing, else (variables the egg hides from panel users) from the application API."""
    data = client.client.startup(access.identifier)
    found = {str(v.get("env_variable")): _client_variable(v) for v in data["variables"]}
    missing = [env for env in wanted if env not in found]
    if missing:  # the plugin reads them through the application API
        hidden = access.panel.hidden_variables(client, access.server_id, missing)
        for env, variable in hidden.items():
            if env in missing:
                found[env] = {**variable, "panel_editable": False}
    return found, data.get("meta") or {}


def startup(access: Access) -> dict[str, Any]:
    """The variables the product shows customers, and the startup command with the others
    hidden."""
    require(access, "startup.read")
    conf = config(access)
    visible = conf.visible_variables()
    slots = set(conf.slot_variables())
    found, meta = with_client(access, lambda c: _startup_data(access, c, visible))
    variables = []
    for env in visible:
        if env not in found:
            continue  # listed in the product but not an egg variable of this server
        v = found[env]
        variables.append(
            StartupVariable(
                env=env,
                name=v["name"],
                description=v["description"],
                value=v["value"],
                default=v["default"],
                rules=v["rules"],
                from_plan=env in slots,
                required=access.panel.is_required(v["rules"]),
                editable=conf.variables[env].editable
                and env not in slots
                and access.can("startup.update"),
            )
        )
    return {"variables": variables, "command": _startup_command(meta, found, set(visible))}


def _startup_command(meta: dict[str, Any], found: dict[str, dict], visible: set[str]) -> str:
    raw = str(meta.get("raw_startup_command") or "")
    if not raw:
        return ""

    def value(match: re.Match) -> str:
        env = match.group(1)
        if env in visible and env in found:
            return found[env]["value"]
        if env in ("SERVER_MEMORY", "SERVER_IP", "SERVER_PORT"):
            return match.group(0)
        return "[hidden]"

    return re.sub(r"\{\{\s*(?:env\.|server\.build\.env\.)?([A-Za-z0-9_]+)\s*\}\}", value, raw)


def update_variable(access: Access, key: str, value: Any) -> StartupVariable:
    """Set one customer-editable variable, checked against the egg's rules first."""
    require(access, "startup.update")
    conf = config(access)
    key = str(key or "").strip()
    setting = conf.variables.get(key)
    if setting is None or not (setting.visible or setting.editable):
        raise TabError(_("%(key)s is not a setting you can change.", key=key[:64] or "?"), 403)
    if key in conf.slot_variables():
        raise TabError(
            _("%(key)s comes from your plan's slot count; change the plan instead.", key=key), 403
        )
    text = "" if value is None else str(value).strip()

    def change(client) -> StartupVariable:
        found, _meta = _startup_data(access, client, [key])
        variable = found.get(key)
        if variable is None:
            raise TabError(_("%(key)s is not a setting you can change.", key=key), 403)
        if not setting.editable:
            raise TabError(_("%(name)s is read-only.", name=variable["name"]), 403)
        problem = access.panel.check_value(text, variable["rules"], variable["name"])
        if problem:
            raise TabError(problem, 400)
        if variable["panel_editable"]:
            client.client.update_variable(access.identifier, key, text)
        else:  # the egg hides it from panel users, the product lets the customer set it
            access.panel.set_hidden_variable(client, access.server_id, key, text)
        return StartupVariable(
            env=key,
            name=variable["name"],
            description=variable["description"],
            value=text,
            default=variable["default"],
            rules=variable["rules"],
            editable=True,
            required=access.panel.is_required(variable["rules"]),
        )

    changed = with_client(access, change)
    record(access, "startup_variable", key=key)
    return changed
