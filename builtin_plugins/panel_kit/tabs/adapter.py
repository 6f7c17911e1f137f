"""What a panel plugin tells the kit's server tabs: :class:`PanelTabs`.

The tabs (console, startup, backups, databases, network, users, schedules, reinstall,
activity) are the same for every panel that speaks the Pterodactyl client API; what
differs is *whose* they are (the plugin's name, its blueprint, its links from store
services to panel servers, its subuser table) and a few behaviours of the panel itself,
given here as data. Each panel plugin builds one ``PanelTabs`` and hands it to
:func:`~builtin_plugins.panel_kit.api.tabs_blueprint` and
:func:`~builtin_plugins.panel_kit.api.tabs_for`; the kit imports no panel plugin.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

from flask_babel import lazy_gettext as _l

# The panel's permission strings, grouped as its own subuser form groups them
# (Pterodactyl 1.11's list; a panel with other names passes its own).
PERMISSION_GROUPS: tuple[tuple[str, object, tuple[tuple[str, object], ...]], ...] = (
    (
        "control",
        _l("Console and power"),
        (
            ("control.console", _l("Send console commands")),
            ("control.start", _l("Start the server")),
            ("control.stop", _l("Stop or kill the server")),
            ("control.restart", _l("Restart the server")),
        ),
    ),
    (
        "user",
        _l("Subusers"),
        (
            ("user.read", _l("See subusers")),
            ("user.create", _l("Invite subusers")),
            ("user.update", _l("Change subusers' permissions")),
            ("user.delete", _l("Remove subusers")),
        ),
    ),
    (
        "file",
        _l("Files (in the panel and over SFTP)"),
        (
            ("file.read", _l("List files and download them")),
            ("file.read-content", _l("Read file contents")),
            ("file.create", _l("Create and upload files")),
            ("file.update", _l("Change and rename files")),
            ("file.delete", _l("Delete files")),
            ("file.archive", _l("Compress and extract archives")),
            ("file.sftp", _l("Connect over SFTP")),
        ),
    ),
    (
        "backup",
        _l("Backups"),
        (
            ("backup.read", _l("See backups")),
            ("backup.create", _l("Create backups")),
            ("backup.delete", _l("Delete and lock backups")),
            ("backup.download", _l("Download backups")),
            ("backup.restore", _l("Restore backups")),
        ),
    ),
    (
        "allocation",
        _l("Network"),
        (
            ("allocation.read", _l("See ports")),
            ("allocation.create", _l("Add ports")),
            ("allocation.update", _l("Change notes and the primary port")),
            ("allocation.delete", _l("Remove ports")),
        ),
    ),
    (
        "startup",
        _l("Startup"),
        (
            ("startup.read", _l("See startup variables")),
            ("startup.update", _l("Change startup variables")),
            ("startup.docker-image", _l("Change the Docker image")),
        ),
    ),
    (
        "database",
        _l("Databases"),
        (
            ("database.read", _l("See databases")),
            ("database.create", _l("Create databases")),
            ("database.update", _l("Rotate database passwords")),
            ("database.delete", _l("Delete databases")),
            ("database.view_password", _l("See database passwords")),
        ),
    ),
    (
        "schedule",
        _l("Schedules"),
        (
            ("schedule.read", _l("See schedules")),
            ("schedule.create", _l("Create schedules")),
            ("schedule.update", _l("Change and run schedules and their tasks")),
            ("schedule.delete", _l("Delete schedules")),
        ),
    ),
    (
        "settings",
        _l("Settings"),
        (
            ("settings.rename", _l("Rename the server")),
            ("settings.reinstall", _l("Reinstall the server")),
        ),
    ),
    ("activity", _l("Activity"), (("activity.read", _l("Read the activity log")),)),
)


@dataclass(frozen=True)
class CustomerError:
    """The customer's sentence for a panel failure, the page's status and (for a 409 of the
    panel's state gate) the state the console badge shows."""

    text: str
    status: int
    state: str = ""


def customer_error(exc: Exception) -> CustomerError:
    """The kit's sentence for a panel failure (messages.for_customer), as the tabs show it:
    what both panels use unless a plugin words its failures itself."""
    from builtin_plugins.panel_kit import messages

    said = messages.for_customer(exc)
    return CustomerError(said.text, said.status, said.state)


@dataclass(frozen=True, eq=False)
class PanelTabs:
    """One panel plugin's server tabs.

    ``plugin`` names the plugin: audit actions are ``<plugin>.<action>``, a theme restyles a
    page as ``panel/<templates>/<page>.html`` (``templates`` defaults to ``<plugin>/tabs``)
    before the kit's own ``panel_kit/tabs/<page>.html``. ``provisioner`` is the store
    provisioner whose services get the tabs. ``blueprint`` names the Flask blueprint (and so
    every endpoint: ``<blueprint>.console``...), registered by the plugin under
    ``/plugins/<plugin>`` plus ``url_prefix``.

    The callables bind the tabs to the plugin's panel and tables:

    - ``connect(quick)``: a context manager giving the panel client (``.client`` the client
      API, ``.app`` the application API); raises the kit's ``errors.PanelError``.
    - ``server_link(service_id)``: ``(identifier, server_id)`` of the service's live panel
      server, or None.
    - ``subuser_model``: the plugin's table of shares (``service_id``, ``user_id``,
      ``panel_uuid``, ``id``), each plugin its own.
    - ``customer_error(exc)``: the :class:`CustomerError` for a panel failure (default: the
      kit's words, :func:`customer_error`).
    - ``product_config(product)``: the plan's panel settings (``backups``, ``databases``,
      ``allocations``, ``memory``, ``cpu``, ``disk``, ``variables``,
      ``visible_variables()``, ``slot_variables()``); raises ValueError when misconfigured.
    - ``hidden_variables(client, server_id, envs)``: egg variables the client API hides, as
      ``{env: {name, description, value, default, rules}}``; ``set_hidden_variable(client,
      server_id, env, value)`` writes one through the application API.
    - ``check_value(value, rules, name)``: the problem with a variable value ("" if none);
      ``is_required(rules)``.
    - ``panel_email(client, user)``: the email of the panel account of a local user
      (linking or creating it), for inviting them as a subuser.
    - ``local_user_id(panel_subuser)``: the local account a subuser added in the panel
      itself is (adopted into the subuser table), or None.
    - ``account(client)``: the client key's own panel account (``username``), for naming
      pteroca's actions in the activity log.
    - ``store``: the store plugin's public module (``builtin_plugins.store.api``), which the
      panel plugin requires: the kit reads services through it and needs no ``[requires]``.

    The panel's differences are data: ``permission_groups`` (the subuser form),
    ``retired_permissions`` (``(old name, the panel's name)`` pairs of permission names
    another panel had and this one does not know: a subuser carried over with one keeps it
    in the panel, where it grants nothing, and the users tab says so),
    ``view_password_permission``, ``console_token_seconds`` (reuse a console token this
    long: a panel that throttles the websocket endpoint needs it), ``command_needs_online``
    (a panel that answers 204 to a command for an offline server: check the state first).
    """

    plugin: str
    provisioner: str
    blueprint: str
    connect: Callable[[bool], AbstractContextManager[Any]]
    server_link: Callable[[int], tuple[str, int] | None]
    subuser_model: type
    product_config: Callable[[Any], Any]
    hidden_variables: Callable[[Any, int, list[str]], dict[str, dict[str, Any]]]
    set_hidden_variable: Callable[[Any, int, str, str], None]
    check_value: Callable[[str, Any, str], str]
    is_required: Callable[[Any], bool]
    panel_email: Callable[[Any, Any], str]
    local_user_id: Callable[[dict[str, Any]], int | None]
    account: Callable[[Any], dict[str, Any]]
    store: Any
    customer_error: Callable[[Exception], CustomerError] = customer_error
    url_prefix: str = ""
    templates: str = ""
    permission_groups: tuple = PERMISSION_GROUPS
    retired_permissions: tuple[tuple[str, str], ...] = ()
    always_permissions: frozenset[str] = frozenset({"websocket.connect"})
    view_password_permission: str = "database.view_password"
    console_token_seconds: int = 0
    command_needs_online: bool = False
    shared_menu_order: int = 12

    @property
    def permissions(self) -> frozenset[str]:
        return frozenset(p for _, _, items in self.permission_groups for p, _ in items)

    def template(self, page: str) -> list[str]:
        """The names a tab page is looked up by: the plugin's (a theme may restyle it), then
        the kit's."""
        return [f"{self.templates or self.plugin + '/tabs'}/{page}", f"panel_kit/tabs/{page}"]
