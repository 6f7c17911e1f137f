"""The activity tab: the panel's activity log of the server, pteroca's own actions named after
the server's owner."""

from __future__ import annotations

from typing import Any

from builtin_plugins.panel_kit.tabs.access import Access
from builtin_plugins.panel_kit.tabs.actions import require, with_client
from kernel import User, db


def activity(access: Access, page: int = 1) -> dict[str, Any]:
    """One page of the panel's activity log. What pteroca did through its panel key (a power
    button, a backup, a console command from the tabs) is shown as the server owner's name:
    the panel only knows pteroca's account, and customers act on their servers through it."""
    require(access, "activity.read")
    page = max(1, min(int(page or 1), 10_000))

    def read(client):
        me = access.panel.account(client)
        found = client.client.activity(access.identifier, page=page, per_page=25, include=["actor"])
        return me, found

    me, found = with_client(access, read)
    owner = db.session.get(User, access.service.user_id)
    owner_name = (owner.name or owner.email) if owner is not None else ""
    items = []
    for entry in found.items:
        actor = (entry.get("relationships") or {}).get("actor") or {}
        ours = bool(actor) and str(actor.get("username") or "") == str(me.get("username") or "")
        items.append(
            {
                "event": str(entry.get("event") or ""),
                "properties": entry.get("properties") or {},
                "timestamp": str(entry.get("timestamp") or ""),
                "actor": owner_name if ours or not actor else str(actor.get("username")),
                "ip": "" if ours or entry.get("is_api") else str(entry.get("ip") or ""),
            }
        )
    return {"items": items, "page": found.current_page, "pages": found.total_pages}
