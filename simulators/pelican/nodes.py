"""Node management as Pelican does it (docs/reference/pelican_api.md §3.4 "Nodes and
allocations"): ``Node::$validationRules`` with tags, a CPU budget and a separate connect
port instead of a location. Deleting a node is Pterodactyl's handler (same rule).
"""

from __future__ import annotations

from typing import Any

from simulators.pelican import state as pst
from simulators.pterodactyl import application_api as ptero
from simulators.pterodactyl import state as st
from simulators.pterodactyl.routing import Ctx, Response
from simulators.pterodactyl.validation import to_bool, validate

NODE_RULES: dict[str, Any] = {
    "name": "required|string|min:1|max:100",
    "description": "string|nullable",
    "public": "boolean",
    "fqdn": "required|string|not_in:0.0.0.0,127.0.0.1,localhost",
    "scheme": "required|string|in:http,https",
    "behind_proxy": "boolean",
    "memory": "required|numeric|min:0",
    "memory_overallocate": "required|numeric|min:-1",
    "disk": "required|numeric|min:0",
    "disk_overallocate": "required|numeric|min:-1",
    "cpu": "required|numeric|min:0",
    "cpu_overallocate": "required|numeric|min:-1",
    "daemon_base": r"sometimes|required|regex:/^([\/][\d\w.\-\/]+)$/",
    "daemon_sftp": "required|numeric|between:1,65535",
    "daemon_sftp_alias": "nullable|string",
    "daemon_listen": "required|numeric|between:1,65535",
    "daemon_connect": "required|numeric|between:1,65535",
    "maintenance_mode": "boolean",
    "upload_size": "integer|min:1",
    "tags": "array",
    "tags.*": "string",
}
NUMBERS = (
    "memory",
    "memory_overallocate",
    "disk",
    "disk_overallocate",
    "cpu",
    "cpu_overallocate",
    "daemon_sftp",
    "daemon_listen",
    "daemon_connect",
    "upload_size",
)


def _apply(node: pst.Node, data: dict[str, Any]) -> None:
    node.name, node.fqdn, node.scheme = data["name"], data["fqdn"], data["scheme"]
    for name in ("description", "daemon_sftp_alias"):
        if name in data:
            setattr(node, name, data[name])
    for name in ("public", "behind_proxy", "maintenance_mode"):
        if data.get(name) is not None:
            setattr(node, name, to_bool(data[name]))
    for name in NUMBERS:
        if data.get(name) is not None:
            setattr(node, name, int(float(data[name])))
    if data.get("daemon_base"):
        node.daemon_base = data["daemon_base"]
    if isinstance(data.get("tags"), list):
        node.tags = [str(t) for t in data["tags"]]
    node.updated_at = st.now()


def nodes_store(ctx: Ctx) -> Response:
    s, data = ctx.state, ctx.data
    validate(data, NODE_RULES)
    node = pst.Node(
        s.next_id("nodes"),
        data["name"],
        0,
        data["fqdn"],
        0,
        0,
        daemon_base="/var/lib/pelican/volumes",
    )
    _apply(node, data)
    s.nodes[node.id] = node
    body = ctx.app().node(node, ctx.includes())
    body["meta"] = {"resource": ctx.url(f"{ptero.PREFIX}/nodes/{node.id}")}
    return Response(201, body)


def nodes_update(ctx: Ctx) -> Response:
    data, node = ctx.data, ctx.bound["node"]
    validate(data, {**NODE_RULES, "reset_secret": "sometimes|nullable|boolean"})
    _apply(node, data)
    if to_bool(data.get("reset_secret") or False):
        node.daemon_token_id = st.random_string(16)
        node.daemon_token = st.random_string(64)
    return Response(200, ctx.app().node(node, ctx.includes()))
