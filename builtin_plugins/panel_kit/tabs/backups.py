"""The backups tab: list, create within the plan's limit, download, lock, restore, delete."""

from __future__ import annotations

import re
from typing import Any

from flask_babel import gettext as _

from builtin_plugins.panel_kit.tabs.access import Access
from builtin_plugins.panel_kit.tabs.actions import (
    UUID,
    TabError,
    config,
    key_input,
    record,
    require,
    text_input,
    with_client,
)


def _backup_id(backup: str) -> str:
    return key_input(backup, UUID, _("There is no such backup."), lower=True)


def backups(access: Access) -> dict[str, Any]:
    require(access, "backup.read")
    limit = config(access).backups
    page = with_client(access, lambda c: c.client.list_backups(access.identifier, per_page=50))
    count = int(page.meta.get("backup_count", len(page.items)) if page.meta else len(page.items))
    return {"items": page.items, "count": count, "limit": limit}


def create_backup(access: Access, name: str = "", locked: bool = False) -> dict[str, Any]:
    require(access, "backup.create")
    name = text_input(name, _("The backup name"), required=False)
    limit = config(access).backups
    if limit <= 0:
        raise TabError(_("Your plan includes no backups."))

    def create(client):
        page = client.client.list_backups(access.identifier, per_page=50)
        count = int((page.meta or {}).get("backup_count", len(page.items)))
        if count >= limit:
            raise TabError(
                _("Your plan allows %(n)d backups; delete one before creating another.", n=limit)
            )
        return client.client.create_backup(
            access.identifier, name=name or None, is_locked=bool(locked)
        )

    created = with_client(access, create)
    record(access, "backup_create", backup=created.get("uuid"))
    return created


def backup_download_url(access: Access, backup: str) -> str:
    require(access, "backup.download")
    uuid = _backup_id(backup)
    url = with_client(access, lambda c: c.client.backup_download_url(access.identifier, uuid))
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

    with_client(access, delete)
    record(access, "backup_delete", backup=uuid)


def toggle_backup_lock(access: Access, backup: str) -> dict[str, Any]:
    require(access, "backup.delete")
    uuid = _backup_id(backup)
    found = with_client(access, lambda c: c.client.toggle_backup_lock(access.identifier, uuid))
    record(access, "backup_lock", backup=uuid, locked=bool(found.get("is_locked")))
    return found


def restore_backup(access: Access, backup: str, *, truncate: bool, confirmed: bool) -> None:
    require(access, "backup.restore")
    uuid = _backup_id(backup)
    if not confirmed:
        raise TabError(
            _("Tick the box to confirm the restore: files on the server will be replaced.")
        )
    with_client(
        access,
        lambda c: c.client.restore_backup(access.identifier, uuid, truncate=bool(truncate)),
        quick=False,
    )
    record(access, "backup_restore", backup=uuid, truncate=bool(truncate))
