"""What the customers' server tabs do: console, power, usage, startup variables, backups,
databases, network, subusers, schedules, reinstall and activity.

Every function takes an :class:`~.access.Access` (who is asking, on which server) and
checks the permission it needs itself, so views, tests and other callers share one set
of rules. Panel failures come out as :class:`TabError` with a message for the customer
and an HTTP status (never a 500): 409 when the server's state forbids it (installing,
suspended...), 503 when the panel or the node cannot be reached, 400 for a refused
value, 403 for a missing permission, 404 for something that is gone.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError

from builtin_plugins.pterodactyl import errors, messages, product, rules
from builtin_plugins.pterodactyl import services as plugin_services
from builtin_plugins.pterodactyl.client_api import POWER_SIGNALS
from builtin_plugins.pterodactyl.tabs.access import ALWAYS, PERMISSIONS, Access, forget
from kernel import User, db, record_audit

T = TypeVar("T")

POWER_PERMISSION = {"start": "control.start", "stop": "control.stop", "kill": "control.stop",
                    "restart": "control.restart"}
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
HASHID = re.compile(r"^[A-Za-z0-9]{1,64}$")
DATABASE_NAME = re.compile(r"^[A-Za-z0-9_-]{3,48}$")
DATABASE_REMOTE = re.compile(r"^[\w\-/.%:]+$")
CRON_PART = re.compile(r"^[A-Za-z0-9*,/-]{1,64}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
TASK_ACTIONS = ("command", "power", "backup")
MAX_COMMAND = 2000
MAX_NAME = 191
MAX_NOTES = 256
MAX_TASK_OFFSET = 900


class TabError(Exception):
    """A tab action failed; ``str()`` is the customer's message, ``status`` the HTTP status.

    ``state`` is set for a 409 from the panel's state gate (installing, suspended...).
    """

    def __init__(self, message: str, status: int = 400, state: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.state = state


def from_panel(exc: errors.PanelError) -> TabError:
    """The customer's message for a panel failure (messages.py: shared by every page)."""
    said = messages.for_customer(exc)
    return TabError(said.text, said.status, said.state)


def with_client(action: Callable[[Any], T], *, quick: bool = True) -> T:
    """Run ``action(client)`` with a panel client; panel errors become TabError."""
    try:
        with plugin_services.panel(quick=quick, need_client_key=True) as client:
            return action(client)
    except errors.PanelError as exc:
        raise from_panel(exc) from None


def require(access: Access, permission: str) -> None:
    if not access.can(permission):
        raise TabError(_("You do not have permission to do this on this server."), 403)


def config(access: Access) -> product.ProductConfig:
    try:
        return product.config_of(access.service.product)
    except product.ConfigError as exc:
        current_app.logger.error("product %s is misconfigured: %s", access.service.product_id, exc)
        raise TabError(_("This server's plan is misconfigured; please tell our staff."),
                       503) from None


def record(access: Access, what: str, **details: Any) -> None:
    """Audit-log a change made through the tabs (the panel logs it as the admin key's user)."""
    record_audit(f"pterodactyl.{what}", f"service:{access.service.id}",
                 {"server": access.identifier, **details})


def _text(value: Any, label: str, *, required: bool = True, limit: int = MAX_NAME) -> str:
    text = str(value or "").strip()
    if required and not text:
        raise TabError(_("%(field)s is required.", field=label))
    if len(text) > limit:
        raise TabError(_("%(field)s may be at most %(n)d characters long.", field=label, n=limit))
    return text


def _flag(value: Any) -> bool:
    return str(value or "").strip().lower() in ("1", "on", "true", "yes")


def _key(value: Any, pattern: re.Pattern, missing: str, *, lower: bool = False) -> str:
    """A panel id from the URL, checked against ``pattern``; ``missing`` (404) otherwise."""
    text = str(value or "").strip()
    text = text.lower() if lower else text
    if not pattern.match(text):
        raise TabError(missing, 404)
    return text


def _number(value: Any, missing: str) -> int:
    """A positive panel id number from the URL; ``missing`` (404) otherwise."""
    try:
        number = int(str(value))
    except (TypeError, ValueError):
        raise TabError(missing, 404) from None
    if number < 1:
        raise TabError(missing, 404)
    return number


# --- console, power, usage ----------------------------------------------------------------


def live_status(access: Access) -> dict[str, Any]:
    """The server's state and usage for the console page (JSON-able; never raises)."""
    conf = None
    try:
        conf = config(access)
        stats = with_client(lambda c: c.client.resources(access.identifier))
    except TabError as exc:
        return {"ok": False, "state": exc.state or "unknown", "message": str(exc),
                "status": exc.status}
    usage = stats.get("resources") or {}
    mib = 1024 * 1024
    return {
        "ok": True,
        "state": "suspended" if stats.get("is_suspended") else
        str(stats.get("current_state") or "offline"),
        "memory_bytes": int(usage.get("memory_bytes") or 0),
        "memory_limit_bytes": (conf.memory * mib) if conf and conf.memory else 0,
        "cpu_absolute": round(float(usage.get("cpu_absolute") or 0.0), 2),
        "cpu_limit": conf.cpu if conf else 0,
        "disk_bytes": int(usage.get("disk_bytes") or 0),
        "disk_limit_bytes": (conf.disk * mib) if conf and conf.disk else 0,
        "network_rx_bytes": int(usage.get("network_rx_bytes") or 0),
        "network_tx_bytes": int(usage.get("network_tx_bytes") or 0),
        "uptime_ms": int(usage.get("uptime") or 0),
    }


def console_credentials(access: Access) -> dict[str, str]:
    """A websocket token and the Wings socket URL for the live console (10 minutes).

    The token is signed for the client key's user, a root admin, so it allows every
    action on the socket: only viewers allowed the console and all power actions get one.
    """
    if not access.live_console:
        raise TabError(_("The live console needs the console and power permissions; ask the "
                         "server's owner for them."), 403)
    found = with_client(lambda c: c.client.websocket(access.identifier))
    if not found.get("token") or not found.get("socket"):
        raise TabError(_("The panel gave no console address; try again in a minute."), 502)
    return found


def socket_origin(socket_url: str) -> str:
    """``wss://node:8080/api/servers/<uuid>/ws`` -> ``wss://node:8080`` (for the CSP)."""
    match = re.match(r"^(wss?://[^/\s'\";]+)", socket_url or "")
    return match.group(1) if match else ""


def power(access: Access, signal: str) -> None:
    signal = str(signal or "").strip().lower()
    if signal not in POWER_SIGNALS:
        raise TabError(_("Choose start, stop, restart or kill."))
    require(access, POWER_PERMISSION[signal])
    with_client(lambda c: c.client.power(access.identifier, signal))
    record(access, "power", signal=signal)


def send_command(access: Access, command: str) -> None:
    require(access, "control.console")
    text = _text(command, _("The command"), limit=MAX_COMMAND)
    with_client(lambda c: c.client.send_command(access.identifier, text))


# --- startup variables ----------------------------------------------------------------------


@dataclass
class StartupVariable:
    __template_fields__ = ("env", "name", "description", "value", "default", "rules", "editable",
                           "from_plan", "required")

    env: str
    name: str
    description: str
    value: str
    default: str
    rules: str
    editable: bool
    from_plan: bool = False  # a slot variable: its value is what the plan paid for

    @property
    def required(self) -> bool:
        return rules.is_required(self.rules)


def _client_variable(item: dict[str, Any]) -> dict[str, Any]:
    return {"name": str(item.get("name") or item.get("env_variable")),
            "description": str(item.get("description") or ""),
            "value": "" if item.get("server_value") is None else str(item.get("server_value")),
            "default": str(item.get("default_value") or ""), "rules": str(item.get("rules") or ""),
            "panel_editable": bool(item.get("is_editable"))}


def _startup_data(access: Access, client, wanted: Iterable[str]) -> tuple[dict, dict]:
    """``({ENV: variable fields}, meta)`` for ``wanted``: from the client API's startup
    listing, else (variables the egg hides from panel users) from the application API."""
    data = client.client.startup(access.identifier)
    found = {str(v.get("env_variable")): _client_variable(v) for v in data["variables"]}
    missing = [env for env in wanted if env not in found]
    if missing:
        from builtin_plugins.pterodactyl.client import egg_variables, server_environment

        server = client.app.get_server(access.server_id)
        environment = server_environment(server)
        egg = plugin_services.egg_with_variables(client, int(server["nest"]), int(server["egg"]))
        for variable in egg_variables(egg):
            env = str(variable.get("env_variable"))
            if env in missing:
                found[env] = {"name": str(variable.get("name") or env),
                              "description": str(variable.get("description") or ""),
                              "value": environment.get(env, ""),
                              "default": str(variable.get("default_value") or ""),
                              "rules": str(variable.get("rules") or ""), "panel_editable": False}
    return found, data.get("meta") or {}


def startup(access: Access) -> dict[str, Any]:
    """The variables the product shows customers, and the startup command with the others
    hidden."""
    require(access, "startup.read")
    conf = config(access)
    visible = conf.visible_variables()
    slots = set(conf.slot_variables())
    found, meta = with_client(lambda c: _startup_data(access, c, visible))
    variables = []
    for env in visible:
        if env not in found:
            continue  # listed in the product but not an egg variable of this server
        v = found[env]
        variables.append(StartupVariable(
            env=env, name=v["name"], description=v["description"], value=v["value"],
            default=v["default"], rules=v["rules"], from_plan=env in slots,
            editable=conf.variables[env].editable and env not in slots
            and access.can("startup.update")))
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
        raise TabError(_("%(key)s comes from your plan's slot count; change the plan instead.",
                         key=key), 403)
    text = "" if value is None else str(value).strip()

    def change(client) -> StartupVariable:
        found, _meta = _startup_data(access, client, [key])
        variable = found.get(key)
        if variable is None:
            raise TabError(_("%(key)s is not a setting you can change.", key=key), 403)
        if not setting.editable:
            raise TabError(_("%(name)s is read-only.", name=variable["name"]), 403)
        problem = rules.check(text, variable["rules"], variable["name"])
        if problem:
            raise TabError(problem, 400)
        if variable["panel_editable"]:
            client.client.update_variable(access.identifier, key, text)
        else:  # the egg hides it from panel users, the product lets the customer set it
            client.app.update_server_startup(access.server_id, environment={key: text})
        return StartupVariable(env=key, name=variable["name"], description=variable["description"],
                               value=text, default=variable["default"], rules=variable["rules"],
                               editable=True)

    changed = with_client(change)
    record(access, "startup_variable", key=key)
    return changed


# --- backups ---------------------------------------------------------------------------------


def _backup_id(backup: str) -> str:
    return _key(backup, UUID, _("There is no such backup."), lower=True)


def backups(access: Access) -> dict[str, Any]:
    require(access, "backup.read")
    limit = config(access).backups
    page = with_client(lambda c: c.client.list_backups(access.identifier, per_page=50))
    count = int(page.meta.get("backup_count", len(page.items)) if page.meta else len(page.items))
    return {"items": page.items, "count": count, "limit": limit}


def create_backup(access: Access, name: str = "", locked: bool = False) -> dict[str, Any]:
    require(access, "backup.create")
    name = _text(name, _("The backup name"), required=False)
    limit = config(access).backups
    if limit <= 0:
        raise TabError(_("Your plan includes no backups."))

    def create(client):
        page = client.client.list_backups(access.identifier, per_page=50)
        count = int((page.meta or {}).get("backup_count", len(page.items)))
        if count >= limit:
            raise TabError(_("Your plan allows %(n)d backups; delete one before creating "
                             "another.", n=limit))
        return client.client.create_backup(access.identifier, name=name or None,
                                           is_locked=bool(locked))

    created = with_client(create)
    record(access, "backup_create", backup=created.get("uuid"))
    return created


def backup_download_url(access: Access, backup: str) -> str:
    require(access, "backup.download")
    uuid = _backup_id(backup)
    url = with_client(lambda c: c.client.backup_download_url(access.identifier, uuid))
    if not re.match(r"^https?://", url or ""):
        raise TabError(_("The panel gave no download address; try again in a minute."), 502)
    record(access, "backup_download", backup=uuid)
    return url


def delete_backup(access: Access, backup: str) -> None:
    require(access, "backup.delete")
    uuid = _backup_id(backup)

    def delete(client):
        found = client.client.get_backup(access.identifier, uuid)
        if found.get("is_locked"):
            raise TabError(_("This backup is locked; unlock it before deleting it."))
        client.client.delete_backup(access.identifier, uuid)

    with_client(delete)
    record(access, "backup_delete", backup=uuid)


def toggle_backup_lock(access: Access, backup: str) -> dict[str, Any]:
    require(access, "backup.delete")
    uuid = _backup_id(backup)
    found = with_client(lambda c: c.client.toggle_backup_lock(access.identifier, uuid))
    record(access, "backup_lock", backup=uuid, locked=bool(found.get("is_locked")))
    return found


def restore_backup(access: Access, backup: str, *, truncate: bool, confirmed: bool) -> None:
    require(access, "backup.restore")
    uuid = _backup_id(backup)
    if not confirmed:
        raise TabError(_("Tick the box to confirm the restore: files on the server will be "
                         "replaced."))
    with_client(lambda c: c.client.restore_backup(access.identifier, uuid,
                                                  truncate=bool(truncate)), quick=False)
    record(access, "backup_restore", backup=uuid, truncate=bool(truncate))


# --- databases -------------------------------------------------------------------------------


def _database_id(database: str) -> str:
    return _key(database, HASHID, _("There is no such database."))


def databases(access: Access) -> dict[str, Any]:
    require(access, "database.read")
    limit = config(access).databases
    show = access.can("database.view_password")
    items = with_client(lambda c: c.client.list_databases(access.identifier,
                                                          include_password=show))
    for item in items:
        password = ((item.get("relationships") or {}).get("password") or {})
        item["password"] = password.get("password", "") if show and password else ""
    return {"items": items, "limit": limit, "show_passwords": show}


def create_database(access: Access, name: str, remote: str = "%") -> dict[str, Any]:
    require(access, "database.create")
    name = str(name or "").strip()
    remote = str(remote or "").strip() or "%"
    if not DATABASE_NAME.match(name):
        raise TabError(_("The database name must be 3 to 48 letters, digits, dashes or "
                         "underscores."))
    if len(remote) > MAX_NAME or not DATABASE_REMOTE.match(remote):
        raise TabError(_("Connections from must be %% (anywhere) or an address such as "
                         "192.168.1.% or 10.0.0.5."))
    limit = config(access).databases
    if limit <= 0:
        raise TabError(_("Your plan includes no databases."))

    def create(client):
        if len(client.client.list_databases(access.identifier)) >= limit:
            raise TabError(_("Your plan allows %(n)d databases; delete one before creating "
                             "another.", n=limit))
        return client.client.create_database(access.identifier, name, remote)

    created = with_client(create)
    record(access, "database_create", database=created.get("name"))
    return created


def rotate_database_password(access: Access, database: str) -> dict[str, Any]:
    require(access, "database.update")
    hashid = _database_id(database)
    found = with_client(lambda c: c.client.rotate_database_password(access.identifier, hashid))
    record(access, "database_rotate", database=found.get("name"))
    return found


def delete_database(access: Access, database: str) -> None:
    require(access, "database.delete")
    hashid = _database_id(database)
    with_client(lambda c: c.client.delete_database(access.identifier, hashid))
    record(access, "database_delete", database=hashid)


# --- network ---------------------------------------------------------------------------------


def _allocation_id(allocation: Any) -> int:
    return _number(allocation, _("There is no such port."))


def allocations(access: Access) -> dict[str, Any]:
    require(access, "allocation.read")
    limit = config(access).allocations
    items = with_client(lambda c: c.client.list_allocations(access.identifier))
    items.sort(key=lambda a: (not a.get("is_default"), int(a.get("port") or 0)))
    return {"items": items, "limit": limit}


def add_allocation(access: Access) -> dict[str, Any]:
    require(access, "allocation.create")
    limit = config(access).allocations

    def add(client):
        if len(client.client.list_allocations(access.identifier)) >= limit:
            raise TabError(_("Your plan allows %(n)d ports; remove one before adding another.",
                             n=limit))
        return client.client.assign_allocation(access.identifier)

    added = with_client(add)
    record(access, "allocation_add", port=added.get("port"))
    return added


def set_allocation_notes(access: Access, allocation: Any, notes: str) -> None:
    require(access, "allocation.update")
    number = _allocation_id(allocation)
    text = _text(notes, _("The notes"), required=False, limit=MAX_NOTES)
    with_client(lambda c: c.client.set_allocation_notes(access.identifier, number, text or None))
    record(access, "allocation_notes", allocation=number)


def set_primary_allocation(access: Access, allocation: Any) -> None:
    require(access, "allocation.update")
    number = _allocation_id(allocation)
    with_client(lambda c: c.client.set_primary_allocation(access.identifier, number))
    record(access, "allocation_primary", allocation=number)


def delete_allocation(access: Access, allocation: Any) -> None:
    require(access, "allocation.delete")
    number = _allocation_id(allocation)

    def delete(client):
        found = {int(a["id"]): a for a in client.client.list_allocations(access.identifier)}
        if number not in found:
            raise TabError(_("There is no such port."), 404)
        if found[number].get("is_default"):
            raise TabError(_("The primary port cannot be removed; make another port primary "
                             "first."))
        client.client.delete_allocation(access.identifier, number)

    with_client(delete)
    record(access, "allocation_delete", allocation=number)


# --- subusers --------------------------------------------------------------------------------


def _permissions(access: Access, chosen: Iterable[str]) -> list[str]:
    wanted = sorted({str(p).strip() for p in chosen if str(p).strip()} - {ALWAYS})
    unknown = [p for p in wanted if p not in PERMISSIONS]
    if unknown:
        raise TabError(_("Unknown permission: %(names)s.", names=", ".join(unknown)[:200]))
    if not wanted:
        raise TabError(_("Choose at least one permission."))
    beyond = [p for p in wanted if p not in access.granted]
    if beyond:
        raise TabError(_("You cannot grant permissions you do not have yourself: %(names)s.",
                         names=", ".join(beyond)), 403)
    return wanted


def _subuser_uuid(value: str) -> str:
    return _key(value, UUID, _("There is no such subuser."), lower=True)


def _own_panel_uuid(access: Access) -> str:
    if access.owner:
        return ""
    from builtin_plugins.pterodactyl.tabs.access import subuser_row

    row = subuser_row(access.service.id, access.user_id)
    return row.panel_uuid if row else ""


def subusers(access: Access) -> dict[str, Any]:
    """The panel's subusers of the server, each with the local account it maps to."""
    require(access, "user.read")
    from builtin_plugins.pterodactyl.models import UserLink
    from builtin_plugins.pterodactyl.tabs.models import Subuser
    from kernel import User

    items = with_client(lambda c: c.client.list_subusers(access.identifier))
    service = access.service
    rows = {r.panel_uuid: r for r in db.session.scalars(
        db.select(Subuser).where(Subuser.service_id == service.id))}
    adopted = False
    for item in items:
        uuid = str(item.get("uuid") or "")
        row = rows.get(uuid)
        if row is None:  # added in the panel itself: adopt it when it is one of our accounts
            link = db.session.scalar(db.select(UserLink).where(
                UserLink.panel_username == str(item.get("username") or "")))
            if link is not None and link.user_id != service.user_id:
                row = Subuser(service_id=service.id, user_id=link.user_id, panel_uuid=uuid)
                db.session.add(row)
                rows[uuid] = row
                adopted = True
        item["local_user"] = db.session.get(User, row.user_id) if row is not None else None
        item["permissions"] = sorted(set(item.get("permissions") or []) - {ALWAYS})
    known = {str(i.get("uuid")) for i in items}
    for uuid, row in list(rows.items()):
        if uuid not in known and row.id is not None:  # removed in the panel
            db.session.delete(row)
            adopted = True
    if adopted:
        try:
            db.session.commit()
        except IntegrityError:  # adopted by a concurrent request: theirs stands
            db.session.rollback()
        forget()
    return {"items": items, "me": _own_panel_uuid(access)}


def invite_subuser(access: Access, email: str, permissions: Iterable[str]) -> dict[str, Any]:
    """Share the server with the local account ``email`` as a panel subuser."""
    require(access, "user.create")
    from builtin_plugins.pterodactyl import sync
    from builtin_plugins.pterodactyl.tabs.access import subuser_row
    from builtin_plugins.pterodactyl.tabs.models import Subuser
    from kernel import User

    address = str(email or "").strip()
    if not EMAIL.match(address) or len(address) > MAX_NAME:
        raise TabError(_("Enter the email address of the account to invite."))
    chosen = _permissions(access, permissions)
    user = db.session.scalar(db.select(User).where(db.func.lower(User.email) == address.lower()))
    if user is None:
        raise TabError(_("No account here uses %(email)s. Ask them to register first, then "
                         "invite them again.", email=address))
    if user.id == access.service.user_id:
        raise TabError(_("%(email)s owns this server already.", email=address))
    if subuser_row(access.service.id, user.id) is not None:
        raise TabError(_("%(email)s has access already; change their permissions below.",
                         email=address))

    def invite(client) -> dict[str, Any]:
        link = sync.ensure_linked(client, user)
        panel_user = client.app.get_user(link.panel_user_id)
        return client.client.create_subuser(access.identifier, str(panel_user["email"]), chosen)

    created = with_client(invite)
    db.session.add(Subuser(service_id=access.service.id, user_id=user.id,
                           panel_uuid=str(created.get("uuid") or "")))
    try:
        db.session.commit()
    except IntegrityError:  # the same invitation, sent twice at once
        db.session.rollback()
        raise TabError(_("%(email)s has access already; change their permissions below.",
                         email=address)) from None
    forget()
    record(access, "subuser_invite", email=user.email, permissions=chosen)
    return created


def update_subuser(access: Access, uuid: str, permissions: Iterable[str]) -> None:
    require(access, "user.update")
    target = _subuser_uuid(uuid)
    if target == _own_panel_uuid(access):
        raise TabError(_("You cannot change your own permissions."), 403)
    chosen = _permissions(access, permissions)
    with_client(lambda c: c.client.update_subuser(access.identifier, target, chosen))
    forget()
    record(access, "subuser_update", subuser=target, permissions=chosen)


def remove_subuser(access: Access, uuid: str) -> None:
    require(access, "user.delete")
    from builtin_plugins.pterodactyl.tabs.models import Subuser

    target = _subuser_uuid(uuid)
    if target == _own_panel_uuid(access):
        raise TabError(_("You cannot remove yourself; ask the server's owner."), 403)

    def remove(client):
        try:
            client.client.delete_subuser(access.identifier, target)
        except errors.NotFound:
            pass  # gone in the panel already: forget it here too

    with_client(remove)
    db.session.execute(db.delete(Subuser).where(Subuser.service_id == access.service.id,
                                                Subuser.panel_uuid == target))
    db.session.commit()
    forget()
    record(access, "subuser_remove", subuser=target)


def shared_with(user) -> list:
    """Live store services shared with ``user`` as a subuser (newest first)."""
    from builtin_plugins.pterodactyl.tabs.models import Subuser
    from builtin_plugins.store.api import TERMINATED
    from builtin_plugins.store.api import Service

    return list(db.session.scalars(
        db.select(Service).join(Subuser, Subuser.service_id == Service.id)
        .where(Subuser.user_id == user.id, Service.state != TERMINATED)
        .order_by(Subuser.id.desc())))


# --- schedules -------------------------------------------------------------------------------


def _schedule_id(schedule: Any) -> int:
    return _number(schedule, _("There is no such schedule."))


def schedules(access: Access) -> list[dict[str, Any]]:
    require(access, "schedule.read")
    return with_client(lambda c: c.client.list_schedules(access.identifier))


def schedule(access: Access, schedule_id: Any) -> dict[str, Any]:
    require(access, "schedule.read")
    number = _schedule_id(schedule_id)
    return with_client(lambda c: c.client.get_schedule(access.identifier, number))


def create_schedule(access: Access, form: dict[str, Any]) -> dict[str, Any]:
    require(access, "schedule.create")
    name = _text(form.get("name"), _("The schedule name"))
    cron = {}
    labels = {"minute": _("Minute"), "hour": _("Hour"), "day_of_month": _("Day of month"),
              "month": _("Month"), "day_of_week": _("Day of week")}
    for part, label in labels.items():
        value = str(form.get(part) or "*").strip() or "*"
        if not CRON_PART.match(value):
            raise TabError(_("%(field)s must be a cron value such as *, 5, */15 or 1-5.",
                             field=label))
        cron[part] = value
    created = with_client(lambda c: c.client.create_schedule(
        access.identifier, name=name, is_active=_flag(form.get("is_active")),
        only_when_online=_flag(form.get("only_when_online")), **cron))
    record(access, "schedule_create", schedule=created.get("id"))
    return created


def run_schedule(access: Access, schedule_id: Any) -> None:
    require(access, "schedule.update")
    number = _schedule_id(schedule_id)
    with_client(lambda c: c.client.execute_schedule(access.identifier, number))
    record(access, "schedule_run", schedule=number)


def delete_schedule(access: Access, schedule_id: Any) -> None:
    require(access, "schedule.delete")
    number = _schedule_id(schedule_id)
    with_client(lambda c: c.client.delete_schedule(access.identifier, number))
    record(access, "schedule_delete", schedule=number)


def create_task(access: Access, schedule_id: Any, form: dict[str, Any]) -> dict[str, Any]:
    """Add a task; its action needs the permission doing it by hand would need."""
    require(access, "schedule.update")
    number = _schedule_id(schedule_id)
    action = str(form.get("action") or "").strip()
    if action not in TASK_ACTIONS:
        raise TabError(_("Choose what the task does: a command, a power action or a backup."))
    payload = str(form.get("payload") or "").strip()
    if action == "command":
        require(access, "control.console")
        payload = _text(payload, _("The command"), limit=MAX_COMMAND)
    elif action == "power":
        if payload not in POWER_SIGNALS:
            raise TabError(_("Choose start, stop, restart or kill."))
        require(access, POWER_PERMISSION[payload])
    else:
        require(access, "backup.create")
        if config(access).backups <= 0:
            raise TabError(_("Your plan includes no backups."))
        payload = _text(payload, _("The ignored files"), required=False, limit=MAX_COMMAND)
    try:
        offset = int(str(form.get("time_offset") or "0").strip())
    except ValueError:
        offset = -1
    if not 0 <= offset <= MAX_TASK_OFFSET:
        raise TabError(_("The delay must be between 0 and %(n)d seconds.", n=MAX_TASK_OFFSET))
    created = with_client(lambda c: c.client.create_task(
        access.identifier, number, action=action, payload=payload, time_offset=offset,
        continue_on_failure=_flag(form.get("continue_on_failure"))))
    record(access, "task_create", schedule=number, action=action)
    return created


def delete_task(access: Access, schedule_id: Any, task_id: Any) -> None:
    require(access, "schedule.update")
    number = _schedule_id(schedule_id)
    try:
        task = int(str(task_id))
    except (TypeError, ValueError):
        raise TabError(_("There is no such task."), 404) from None
    with_client(lambda c: c.client.delete_task(access.identifier, number, task))
    record(access, "task_delete", schedule=number, task=task)


# --- reinstall and activity ------------------------------------------------------------------


def reinstall(access: Access, *, confirmed: bool) -> None:
    require(access, "settings.reinstall")
    if not confirmed:
        raise TabError(_("Tick the box to confirm: reinstalling runs the install script again "
                         "and may delete or replace files."))
    with_client(lambda c: c.client.reinstall(access.identifier), quick=False)
    record(access, "reinstall")


def activity(access: Access, page: int = 1) -> dict[str, Any]:
    """One page of the panel's activity log. What pteroca did through its panel key (a power
    button, a backup, a console command from the tabs) is shown as the server owner's name:
    the panel only knows pteroca's account, and customers act on their servers through it."""
    require(access, "activity.read")
    page = max(1, min(int(page or 1), 10_000))

    def read(client):
        me = plugin_services.cached((client.url, "client-account"), client.client.account, 300)
        found = client.client.activity(access.identifier, page=page, per_page=25,
                                       include=["actor"])
        return me, found

    me, found = with_client(read)
    owner = db.session.get(User, access.service.user_id)
    owner_name = (owner.name or owner.email) if owner is not None else ""
    items = []
    for entry in found.items:
        actor = ((entry.get("relationships") or {}).get("actor") or {})
        ours = bool(actor) and str(actor.get("username") or "") == str(me.get("username") or "")
        items.append({"event": str(entry.get("event") or ""),
                      "properties": entry.get("properties") or {},
                      "timestamp": str(entry.get("timestamp") or ""),
                      "actor": owner_name if ours or not actor else str(actor.get("username")),
                      "ip": "" if ours or entry.get("is_api") else str(entry.get("ip") or "")})
    return {"items": items, "page": found.current_page, "pages": found.total_pages}
