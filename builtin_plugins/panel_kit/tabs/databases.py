"""The databases tab: list (passwords only for who may see them), create, rotate, delete."""

from __future__ import annotations

import re
from typing import Any

from flask_babel import gettext as _

from builtin_plugins.panel_kit.tabs.access import Access
from builtin_plugins.panel_kit.tabs.actions import (
    MAX_NAME,
    TabError,
    config,
    key_input,
    record,
    require,
    with_client,
)

HASHID = re.compile(r"^[A-Za-z0-9]{1,64}$")
DATABASE_NAME = re.compile(r"^[A-Za-z0-9_-]{3,48}$")
DATABASE_REMOTE = re.compile(r"^[\w\-/.%:]+$")


def _database_id(database: str) -> str:
    return key_input(database, HASHID, _("There is no such database."))


def databases(access: Access) -> dict[str, Any]:
    require(access, "database.read")
    limit = config(access).databases
    show = access.can(access.panel.view_password_permission)
    items = with_client(
        access, lambda c: c.client.list_databases(access.identifier, include_password=show)
    )
    for item in items:
        password = (item.get("relationships") or {}).get("password") or {}
        item["password"] = password.get("password", "") if show and password else ""
    return {"items": items, "limit": limit, "show_passwords": show}


def create_database(access: Access, name: str, remote: str = "%") -> dict[str, Any]:
    require(access, "database.create")
    name = str(name or "").strip()
    remote = str(remote or "").strip() or "%"
    if not DATABASE_NAME.match(name):
        raise TabError(
            _("The database name must be 3 to 48 letters, digits, dashes or underscores.")
        )
    if len(remote) > MAX_NAME or not DATABASE_REMOTE.match(remote):
        raise TabError(
            _(
                "Connections from must be %% (anywhere) or an address such as "
                "192.168.1.% or 10.0.0.5."
            )
        )
    limit = config(access).databases
    if limit <= 0:
        raise TabError(_("Your plan includes no databases."))

    def create(client):
        if len(client.client.list_databases(access.identifier)) >= limit:
            raise TabError(
                _("Your plan allows %(n)d databases; delete one before creating another.", n=limit)
            )
        return client.client.create_database(access.identifier, name, remote)

    created = with_client(access, create)
    record(access, "database_create", database=created.get("name"))
    return created


def rotate_database_password(access: Access, database: str) -> dict[str, Any]:
    require(access, "database.update")
    hashid = _database_id(database)
    found = with_client(
        access, lambda c: c.client.rotate_database_password(access.identifier, hashid)
    )
    record(access, "database_rotate", database=found.get("name"))
    return found


def delete_database(access: Access, database: str) -> None:
    require(access, "database.delete")
    hashid = _database_id(database)
    with_client(access, lambda c: c.client.delete_database(access.identifier, hashid))
    record(access, "database_delete", database=hashid)
