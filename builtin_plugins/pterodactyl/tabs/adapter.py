"""The Pterodactyl plugin's side of the panel kit's server tabs: :data:`TABS`.

Everything the kit cannot know is bound here: the plugin's panel client and settings, its
links from store services to panel servers and from accounts to panel users, its subuser
table (``pterodactyl_subuser``), the messages customers are shown for panel failures, the
product settings and the egg rules. The blueprint keeps its name (``pterodactyl_tabs``),
so the URLs (``/plugins/pterodactyl/servers/<id>/...``), endpoint names, permissions and
audit actions (``pterodactyl.<action>``) are what they were before the kit.
"""

from __future__ import annotations

from typing import Any

from builtin_plugins.panel_kit.api import (
    PanelTabs,
    shared_menu_items,
    shared_with_user,
    tabs_blueprint,
)
from builtin_plugins.panel_kit.api import tabs_for as kit_tabs_for
from builtin_plugins.pterodactyl.tabs.models import Subuser
from builtin_plugins.store import api as store
from kernel import db


def _connect(quick: bool):
    from builtin_plugins.pterodactyl import panel

    return panel.connect(quick=quick, need_client_key=True)


def _server_link(service_id: int) -> tuple[str, int] | None:
    from builtin_plugins.pterodactyl import links

    link = links.server_link(service_id)
    return (link.identifier, link.server_id) if link is not None else None


def _product_config(product) -> Any:
    from builtin_plugins.pterodactyl.product import config_of

    return config_of(product)  # ConfigError is a ValueError


def _hidden_variables(client, server_id: int, envs: list[str]) -> dict[str, dict[str, Any]]:
    """Egg variables the client API hides from panel users, read from the application API."""
    from builtin_plugins.pterodactyl import lookups
    from builtin_plugins.pterodactyl.client import egg_variables, server_environment

    server = client.app.get_server(server_id)
    environment = server_environment(server)
    egg = lookups.egg_with_variables(client, int(server["nest"]), int(server["egg"]))
    found = {}
    for variable in egg_variables(egg):
        env = str(variable.get("env_variable"))
        if env in envs:
            found[env] = {
                "name": str(variable.get("name") or env),
                "description": str(variable.get("description") or ""),
                "value": environment.get(env, ""),
                "default": str(variable.get("default_value") or ""),
                "rules": str(variable.get("rules") or ""),
            }
    return found


def _set_hidden_variable(client, server_id: int, env: str, value: str) -> None:
    client.app.update_server_startup(server_id, environment={env: value})


def _check_value(value: str, rules: Any, name: str) -> str:
    from builtin_plugins.panel_kit.api import rules as egg_rules

    return egg_rules.check(value, rules, name) or ""


def _is_required(rules: Any) -> bool:
    from builtin_plugins.panel_kit.api import rules as egg_rules

    return egg_rules.is_required(rules)


def _panel_email(client, user) -> str:
    from builtin_plugins.pterodactyl import sync

    link = sync.ensure_linked(client, user)
    return str(client.app.get_user(link.panel_user_id)["email"])


def _local_user_id(subuser: dict[str, Any]) -> int | None:
    from builtin_plugins.pterodactyl.models import UserLink

    link = db.session.scalar(
        db.select(UserLink).where(UserLink.panel_username == str(subuser.get("username") or ""))
    )
    return link.user_id if link is not None else None


def _account(client) -> dict[str, Any]:
    from builtin_plugins.pterodactyl import lookups

    return lookups.cached((client.url, "client-account"), client.client.account, 300)


TABS = PanelTabs(
    plugin="pterodactyl",
    provisioner="pterodactyl",
    blueprint="pterodactyl_tabs",
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
)


def blueprint():
    """The ``register_blueprints`` hook's blueprint: ``pterodactyl_tabs``."""
    return tabs_blueprint(TABS)


def tabs_for(service, user) -> list[dict[str, Any]]:
    """The ``server_tabs`` hook."""
    return kit_tabs_for(TABS, service, user)


def menu_items(user) -> list[dict[str, Any]]:
    """The ``client_menu_items`` hook: "Shared with me" for subusers."""
    return shared_menu_items(TABS, user)


def shared_with(user) -> list:
    """Live Pterodactyl services shared with ``user`` as a subuser."""
    return shared_with_user(TABS, user)
