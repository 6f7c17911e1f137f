"""The Pelican plugin's side of the panel kit's server tabs: :data:`TABS`.

Bound here: the plugin's client (a ``pacc_`` key of a Root Admin), its links from store
services to Pelican servers and from accounts to Pelican users, its subuser table
(``pelican_subuser``), the customer messages for panel failures, the product settings and
the egg rules (Pelican's application API gives them as arrays; the kit reads both forms).
URLs are ``/plugins/pelican/servers/<id>/...``, endpoints ``pelican_tabs.<name>``, audit
actions ``pelican.<action>``.

Pelican's differences, as data (docs/reference/pelican_api.md §10.14-16):

- its permission keys (:data:`PERMISSION_GROUPS`): ``database.view-password`` with a hyphen,
  and ``settings.description``, ``settings.change-icon``, ``mount.read``, ``mount.update``;
- the name Pterodactyl had and Pelican does not know (:data:`RETIRED_PERMISSIONS`): a
  subuser carried over from Pterodactyl keeps it in the panel, where it grants nothing; the
  users tab says so;
- the websocket endpoint is throttled to 5 a minute per server, so the console reuses a
  token for most of its 10-minute life; a command to an offline server answers 204, so the
  console checks the state first.
"""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l

from builtin_plugins.panel_kit.api import (
    PERMISSION_GROUPS as PTERODACTYL_GROUPS,
)
from builtin_plugins.panel_kit.api import (
    PanelTabs,
    shared_menu_items,
    shared_with_user,
    tabs_blueprint,
)
from builtin_plugins.panel_kit.api import tabs_for as kit_tabs_for
from builtin_plugins.pelican.models import Subuser
from builtin_plugins.store import api as store
from kernel import db

# Pterodactyl's name -> Pelican's (docs/reference/pelican_api.md §4.4 "Permission keys").
RETIRED_PERMISSIONS: tuple[tuple[str, str], ...] = (
    ("database.view_password", "database.view-password"),
)
_RENAMED = dict(RETIRED_PERMISSIONS)
# Pelican's additions to a group of Pterodactyl's, and its new group.
_ADDED = {
    "settings": (
        ("settings.description", _l("Change the server's description")),
        ("settings.change-icon", _l("Change the server's icon")),
    ),
}
_MOUNTS = (
    "mount",
    _l("Mounts"),
    (("mount.read", _l("See mounts")), ("mount.update", _l("Attach and detach mounts"))),
)


def _pelican_groups() -> tuple:
    """Pterodactyl's groups with Pelican's names and additions, mounts before activity."""
    groups = []
    for key, label, items in PTERODACTYL_GROUPS:
        renamed = tuple((_RENAMED.get(name, name), text) for name, text in items)
        groups.append((key, label, renamed + _ADDED.get(key, ())))
    at = next(i for i, group in enumerate(groups) if group[0] == "activity")
    groups.insert(at, _MOUNTS)
    return tuple(groups)


PERMISSION_GROUPS = _pelican_groups()


def _connect(quick: bool):
    from builtin_plugins.pelican import panel

    return panel.connect(quick=quick, need_client_key=True)


def _server_link(service_id: int) -> tuple[str, int] | None:
    from builtin_plugins.pelican import links

    link = links.server_link(service_id)
    return (link.identifier, link.server_id) if link is not None else None


def _product_config(product) -> Any:
    from builtin_plugins.pelican.product import config_of

    return config_of(product)  # ConfigError is a ValueError


def _hidden_variables(client, server_id: int, envs: list[str]) -> dict[str, dict[str, Any]]:
    """Egg variables the client API hides from panel users, read from the application API
    (``GET /eggs/{id}?include=variables``: Pelican's eggs stand alone, no nest)."""
    from builtin_plugins.panel_kit.api import egg_variables, server_environment
    from builtin_plugins.pelican import catalog

    server = client.app.get_server(server_id)
    environment = server_environment(server)
    egg = catalog.egg(client, int(server["egg"]))
    found = {}
    for variable in egg_variables(egg):
        env = str(variable.get("env_variable"))
        if env in envs:
            found[env] = {
                "name": str(variable.get("name") or env),
                "description": str(variable.get("description") or ""),
                "value": environment.get(env, ""),
                "default": str(variable.get("default_value") or ""),
                "rules": variable.get("rules") or "",
            }
    return found


def _set_hidden_variable(client, server_id: int, env: str, value: str) -> None:
    """One variable through the application API (the kit's call sends the others back as
    they are: Pelican blanks the variables a startup PATCH leaves out, §3.2.4)."""
    client.app.update_server_startup(server_id, environment={env: value})


def _check_value(value: str, rules: Any, name: str) -> str:
    from builtin_plugins.panel_kit.api import rules as egg_rules

    return egg_rules.check(value, rules, name) or ""


def _is_required(rules: Any) -> bool:
    from builtin_plugins.panel_kit.api import rules as egg_rules

    return egg_rules.is_required(rules)


def _panel_email(client, user) -> str:
    from builtin_plugins.pelican import sync

    link = sync.ensure_linked(client, user)
    return str(client.app.get_user(link.panel_user_id)["email"])


def _local_user_id(subuser: dict[str, Any]) -> int | None:
    from builtin_plugins.pelican.models import UserLink

    username = str(subuser.get("username") or "").lower()
    if not username:
        return None
    link = db.session.scalar(
        db.select(UserLink).where(db.func.lower(UserLink.panel_username) == username)
    )
    return link.user_id if link is not None else None


def _account(client) -> dict[str, Any]:
    from builtin_plugins.pelican import catalog

    return catalog.cached((client.url, "client-account"), client.client.account, 300)


TABS = PanelTabs(
    plugin="pelican",
    provisioner="pelican",
    blueprint="pelican_tabs",
    connect=_connect,
    server_link=_server_link,
    subuser_model=Subuser,
    product_config=_product_config,
    hidden_variables=_hidden_variables,
    set_hidden_variable=_set_hidden_variable,
    check_value=_check_value,
    is_required=_is_required,
    panel_email=_panel_email,
    local_user_id=_local_user_id,
    account=_account,
    store=store,
    permission_groups=PERMISSION_GROUPS,
    retired_permissions=RETIRED_PERMISSIONS,
    view_password_permission="database.view-password",
    console_token_seconds=540,
    command_needs_online=True,
    shared_menu_order=13,
)


def blueprint():
    """The ``register_blueprints`` hook's blueprint: ``pelican_tabs``."""
    return tabs_blueprint(TABS)


def tabs_for(service, user) -> list[dict[str, Any]]:
    """The ``server_tabs`` hook."""
    return kit_tabs_for(TABS, service, user)


def menu_items(user) -> list[dict[str, Any]]:
    """The ``client_menu_items`` hook: "Shared with me" for subusers of Pelican servers."""
    return shared_menu_items(TABS, user)


def shared_with(user) -> list:
    """Live Pelican services shared with ``user`` as a subuser."""
    return shared_with_user(TABS, user)
