"""The network tab: the server's ports (allocations) within the plan's limit."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _

from builtin_plugins.panel_kit.tabs.access import Access
from builtin_plugins.panel_kit.tabs.actions import (
    TabError,
    config,
    number_input,
    record,
    require,
    text_input,
    with_client,
)

MAX_NOTES = 256


def _allocation_id(allocation: Any) -> int:
    return number_input(allocation, _("There is no such port."))


def allocations(access: Access) -> dict[str, Any]:
    require(access, "allocation.read")
    limit = config(access).allocations
    items = with_client(access, lambda c: c.client.list_allocations(access.identifier))
    items.sort(key=lambda a: (not a.get("is_default"), int(a.get("port") or 0)))
    return {"items": items, "limit": limit}


def add_allocation(access: Access) -> dict[str, Any]:
    require(access, "allocation.create")
    limit = config(access).allocations

    def add(client):
        if len(client.client.list_allocations(access.identifier)) >= limit:
            raise TabError(
                _("Your plan allows %(n)d ports; remove one before adding another.", n=limit)
            )
        return client.client.assign_allocation(access.identifier)

    added = with_client(access, add)
    record(access, "allocation_add", port=added.get("port"))
    return added


def set_allocation_notes(access: Access, allocation: Any, notes: str) -> None:
    require(access, "allocation.update")
    number = _allocation_id(allocation)
    text = text_input(notes, _("The notes"), required=False, limit=MAX_NOTES)
    with_client(
        access, lambda c: c.client.set_allocation_notes(access.identifier, number, text or None)
    )
    record(access, "allocation_notes", allocation=number)


def set_primary_allocation(access: Access, allocation: Any) -> None:
    require(access, "allocation.update")
    number = _allocation_id(allocation)
    with_client(access, lambda c: c.client.set_primary_allocation(access.identifier, number))
    record(access, "allocation_primary", allocation=number)


def delete_allocation(access: Access, allocation: Any) -> None:
    require(access, "allocation.delete")
    number = _allocation_id(allocation)

    def delete(client):
        found = {int(a["id"]): a for a in client.client.list_allocations(access.identifier)}
        if number not in found:
            raise TabError(_("There is no such port."), 404)
        if found[number].get("is_default"):
            raise TabError(
                _("The primary port cannot be removed; make another port primary first.")
            )
        client.client.delete_allocation(access.identifier, number)

    with_client(access, delete)
    record(access, "allocation_delete", allocation=number)
