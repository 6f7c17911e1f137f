"""The plugin settings both panel plugins read alike: panel URL and keys, node policy and
nodes, external id prefix, user sync and timeouts (each plugin adds its own: Pterodactyl's
default location and request budgets, Pelican's default node tags)."""

from __future__ import annotations

import re
from typing import Any

NODE_POLICIES = ("least_loaded", "specific_nodes", "panel_deploy")


def parse_ids(text: Any, label: str = "ids") -> tuple[int, ...]:
    """``"1, 2,3"`` -> ``(1, 2, 3)``; ValueError naming ``label`` for anything else."""
    out = []
    for part in str(text or "").replace(";", ",").split(","):
        part = part.strip()
        if not part:
            continue
        if not part.isdigit() or int(part) < 1:
            raise ValueError(f"{label}: {part!r} is not a positive whole number")
        out.append(int(part))
    return tuple(dict.fromkeys(out))


def common_settings(values: dict[str, Any]) -> dict[str, Any]:
    """The shared settings from the stored ``values``, as keyword arguments of the plugin's
    settings dataclass; a malformed one falls back to its default (a bad value never stops
    the plugin: the settings form refuses it when it is entered)."""
    try:
        node_ids = parse_ids(values.get("node_ids"), "Nodes")
    except ValueError:
        node_ids = ()
    policy = values.get("node_policy") or "least_loaded"
    return {
        "url": (values.get("panel_url") or "").strip().rstrip("/"),
        "application_key": (values.get("application_key") or "").strip(),
        "client_key": (values.get("client_key") or "").strip(),
        "node_policy": policy if policy in NODE_POLICIES else "least_loaded",
        "node_ids": node_ids,
        "external_id_prefix": re.sub(r"[^\w.:-]", "", values.get("external_id_prefix") or "")
        or "pteroca",
        "sync_users": bool(values.get("sync_users", True)),
        "request_timeout": max(1, int(values.get("request_timeout") or 30)),
        "wings_timeout": max(1, int(values.get("wings_timeout") or 90)),
    }
