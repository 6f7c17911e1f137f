"""``/api/client`` with a root admin's ``ptlc_`` key: everything a customer does to a server.

``server`` arguments are the 8-character identifier or the full UUID. The key can act
on *every* server, so callers check ownership and subuser permissions themselves
before calling. A suspended or installing server answers 409
(:class:`errors.ServerStateConflict`, whose ``state`` says which) to everything but
:meth:`ClientAPI.server`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote

from builtin_plugins.panel_kit.transport import Page, Transport, filters, unwrap

SERVER_ID = re.compile(
    r"^(?:[0-9a-f]{8}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}"
    r"-[0-9a-f]{12})$"
)
POWER_SIGNALS = ("start", "stop", "restart", "kill")


def _server(identifier: str) -> str:
    text = str(identifier).strip().lower()
    if not SERVER_ID.match(text):
        raise ValueError(f"{identifier!r} is not a server identifier or UUID")
    return f"/servers/{text}"


def _q(value: Any) -> str:
    return quote(str(value), safe="")


class ClientAPI:
    """Client API calls; each returns unwrapped attributes (see :func:`transport.unwrap`)."""

    def __init__(self, transport: Transport) -> None:
        self.t = transport

    @staticmethod
    def path(server: str) -> str:
        """``/servers/<identifier>`` (ValueError for anything but an identifier or UUID): for
        a panel's subclass adding its own server routes."""
        return _server(server)

    # --- servers and account ------------------------------------------------------------

    def list_servers(
        self,
        *,
        type: str | None = None,
        include: Iterable[str] = (),
        page: int = 1,
        per_page: int = 50,
        **filter_values: Any,
    ) -> Page:
        """Servers the key's user can see (``type``: owner, admin or admin-all)."""
        params = filters(tuple(include), **filter_values)
        if type:
            params["type"] = type
        return self.t.page("", params, page=page, per_page=per_page)

    def permissions(self) -> dict[str, Any]:
        """The panel's permission catalogue (``system_permissions``)."""
        return (self.t.item("GET", "/permissions") or {}).get("permissions", {})

    def account(self) -> dict[str, Any]:
        """The key owner's account (``id, admin, username, email, first_name, last_name``...)."""
        return self.t.item("GET", "/account")

    def server(self, server: str, *, include: Iterable[str] = ()) -> dict[str, Any]:
        """Details (works even while suspended/installing); the response ``meta``
        (``is_server_owner``, ``user_permissions``) is under the key ``meta``."""
        body = self.t.request("GET", _server(server), params=filters(tuple(include)))
        attributes = unwrap(body) or {}
        attributes["meta"] = (body or {}).get("meta") or {}
        return attributes

    def resources(self, server: str) -> dict[str, Any]:
        """Live stats: ``current_state`` and ``resources`` (memory_bytes, cpu_absolute...)."""
        return self.t.item("GET", f"{_server(server)}/resources", wings=True)

    def websocket(self, server: str) -> dict[str, str]:
        """``{"token", "socket"}`` for the console; the token lives 10 minutes."""
        body = self.t.request("GET", f"{_server(server)}/websocket", wings=False) or {}
        data = body.get("data") or {}
        return {"token": str(data.get("token", "")), "socket": str(data.get("socket", ""))}

    def power(self, server: str, signal: str) -> None:
        if signal not in POWER_SIGNALS:
            raise ValueError(f"power signal must be one of {', '.join(POWER_SIGNALS)}")
        self.t.request("POST", f"{_server(server)}/power", json={"signal": signal}, wings=True)

    def send_command(self, server: str, command: str) -> None:
        """Raises :class:`errors.ServerOffline` when the server is not running."""
        self.t.request("POST", f"{_server(server)}/command", json={"command": command}, wings=True)

    def activity(
        self,
        server: str,
        *,
        page: int = 1,
        per_page: int = 25,
        event: str | None = None,
        include: Iterable[str] = (),
    ) -> Page:
        params = filters(tuple(include), event=event)
        params["sort"] = "-timestamp"
        return self.t.page(f"{_server(server)}/activity", params, page=page, per_page=per_page)

    # --- startup and settings -----------------------------------------------------------

    def startup(self, server: str) -> dict[str, Any]:
        """``{"variables": [...], "meta": {startup_command, docker_images, ...}}``."""
        body = self.t.request("GET", f"{_server(server)}/startup") or {}
        page = self._list(body)
        return {"variables": page, "meta": body.get("meta") or {}}

    def update_variable(self, server: str, key: str, value: str) -> dict[str, Any]:
        return self.t.item(
            "PUT", f"{_server(server)}/startup/variable", json={"key": key, "value": value}
        )

    def rename(self, server: str, name: str, description: str | None = None) -> None:
        body: dict[str, Any] = {"name": name}
        if description is not None:
            body["description"] = description
        self.t.request("POST", f"{_server(server)}/settings/rename", json=body, idempotent=True)

    def reinstall(self, server: str) -> None:
        self.t.request("POST", f"{_server(server)}/settings/reinstall", wings=True)

    def set_docker_image(self, server: str, image: str) -> None:
        self.t.request(
            "PUT", f"{_server(server)}/settings/docker-image", json={"docker_image": image}
        )

    # --- files --------------------------------------------------------------------------

    def list_files(self, server: str, directory: str = "/") -> list[dict[str, Any]]:
        body = self.t.request(
            "GET", f"{_server(server)}/files/list", params={"directory": directory}, wings=True
        )
        return self._list(body)

    def file_contents(self, server: str, path: str) -> str:
        return (
            self.t.request(
                "GET",
                f"{_server(server)}/files/contents",
                params={"file": path},
                wings=True,
                text=True,
            )
            or ""
        )

    def file_download_url(self, server: str, path: str) -> str:
        return (
            self.t.item(
                "GET", f"{_server(server)}/files/download", params={"file": path}, wings=True
            )
            or {}
        ).get("url", "")

    def file_upload_url(self, server: str) -> str:
        found = self.t.item("GET", f"{_server(server)}/files/upload", wings=True) or {}
        return found.get("url", "")

    def write_file(self, server: str, path: str, content: str | bytes) -> None:
        self.t.request(
            "POST",
            f"{_server(server)}/files/write",
            params={"file": path},
            content=content,
            idempotent=True,
            wings=True,
        )

    def rename_files(self, server: str, root: str, moves: Iterable[tuple[str, str]]) -> None:
        files = [{"from": a, "to": b} for a, b in moves]
        self.t.request(
            "PUT",
            f"{_server(server)}/files/rename",
            json={"root": root, "files": files},
            wings=True,
        )

    def copy_file(self, server: str, location: str) -> None:
        self.t.request(
            "POST", f"{_server(server)}/files/copy", json={"location": location}, wings=True
        )

    def compress_files(self, server: str, root: str, files: Iterable[str]) -> dict[str, Any]:
        return self.t.item(
            "POST",
            f"{_server(server)}/files/compress",
            json={"root": root, "files": list(files)},
            wings=True,
        )

    def decompress_file(self, server: str, root: str, file: str) -> None:
        self.t.request(
            "POST",
            f"{_server(server)}/files/decompress",
            json={"root": root, "file": file},
            wings=True,
        )

    def delete_files(self, server: str, root: str, files: Iterable[str]) -> None:
        self.t.request(
            "POST",
            f"{_server(server)}/files/delete",
            json={"root": root, "files": list(files)},
            idempotent=True,
            wings=True,
        )

    def create_folder(self, server: str, root: str, name: str) -> None:
        self.t.request(
            "POST",
            f"{_server(server)}/files/create-folder",
            json={"root": root, "name": name},
            idempotent=True,
            wings=True,
        )

    def chmod_files(self, server: str, root: str, modes: Iterable[tuple[str, str]]) -> None:
        files = [{"file": f, "mode": m} for f, m in modes]
        self.t.request(
            "POST",
            f"{_server(server)}/files/chmod",
            json={"root": root, "files": files},
            idempotent=True,
            wings=True,
        )

    def pull_file(
        self,
        server: str,
        url: str,
        *,
        directory: str | None = None,
        filename: str | None = None,
        use_header: bool | None = None,
        foreground: bool | None = None,
    ) -> None:
        body = {
            k: v
            for k, v in (
                ("url", url),
                ("directory", directory),
                ("filename", filename),
                ("use_header", use_header),
                ("foreground", foreground),
            )
            if v is not None
        }
        self.t.request("POST", f"{_server(server)}/files/pull", json=body, wings=True)

    # --- backups ------------------------------------------------------------------------

    def list_backups(self, server: str, *, page: int = 1, per_page: int = 20) -> Page:
        """A page of backups; ``page.meta["backup_count"]`` counts the non-failed ones."""
        return self.t.page(f"{_server(server)}/backups", page=page, per_page=per_page)

    def create_backup(
        self,
        server: str,
        *,
        name: str | None = None,
        is_locked: bool | None = None,
        ignored: str | None = None,
    ) -> dict[str, Any]:
        body = {
            k: v
            for k, v in (("name", name), ("is_locked", is_locked), ("ignored", ignored))
            if v is not None
        }
        return self.t.item("POST", f"{_server(server)}/backups", json=body, wings=True)

    def get_backup(self, server: str, backup: str) -> dict[str, Any]:
        return self.t.item("GET", f"{_server(server)}/backups/{_q(backup)}")

    def backup_download_url(self, server: str, backup: str) -> str:
        return (
            self.t.item("GET", f"{_server(server)}/backups/{_q(backup)}/download", wings=True) or {}
        ).get("url", "")

    def toggle_backup_lock(self, server: str, backup: str) -> dict[str, Any]:
        return self.t.item("POST", f"{_server(server)}/backups/{_q(backup)}/lock")

    def restore_backup(self, server: str, backup: str, *, truncate: bool = False) -> None:
        self.t.request(
            "POST",
            f"{_server(server)}/backups/{_q(backup)}/restore",
            json={"truncate": bool(truncate)},
            wings=True,
        )

    def delete_backup(self, server: str, backup: str) -> None:
        self.t.request("DELETE", f"{_server(server)}/backups/{_q(backup)}", wings=True)

    # --- databases ----------------------------------------------------------------------

    def list_databases(
        self, server: str, *, include_password: bool = False
    ) -> list[dict[str, Any]]:
        params = {"include": "password"} if include_password else None
        return self._list(self.t.request("GET", f"{_server(server)}/databases", params=params))

    def create_database(self, server: str, database: str, remote: str = "%") -> dict[str, Any]:
        return self.t.item(
            "POST", f"{_server(server)}/databases", json={"database": database, "remote": remote}
        )

    def rotate_database_password(self, server: str, database: str) -> dict[str, Any]:
        return self.t.item("POST", f"{_server(server)}/databases/{_q(database)}/rotate-password")

    def delete_database(self, server: str, database: str) -> None:
        self.t.request("DELETE", f"{_server(server)}/databases/{_q(database)}")

    # --- schedules ----------------------------------------------------------------------

    def list_schedules(self, server: str) -> list[dict[str, Any]]:
        return self._list(self.t.request("GET", f"{_server(server)}/schedules"))

    def get_schedule(self, server: str, schedule_id: int) -> dict[str, Any]:
        return self.t.item("GET", f"{_server(server)}/schedules/{int(schedule_id)}")

    @staticmethod
    def _schedule_body(
        name: str,
        minute: str,
        hour: str,
        day_of_month: str,
        month: str,
        day_of_week: str,
        is_active: bool,
        only_when_online: bool,
    ) -> dict[str, Any]:
        return {
            "name": name,
            "minute": minute,
            "hour": hour,
            "day_of_month": day_of_month,
            "month": month,
            "day_of_week": day_of_week,
            "is_active": bool(is_active),
            "only_when_online": bool(only_when_online),
        }

    def create_schedule(
        self,
        server: str,
        *,
        name: str,
        minute: str = "*",
        hour: str = "*",
        day_of_month: str = "*",
        month: str = "*",
        day_of_week: str = "*",
        is_active: bool = True,
        only_when_online: bool = False,
    ) -> dict[str, Any]:
        body = self._schedule_body(
            name, minute, hour, day_of_month, month, day_of_week, is_active, only_when_online
        )
        return self.t.item("POST", f"{_server(server)}/schedules", json=body)

    def update_schedule(
        self,
        server: str,
        schedule_id: int,
        *,
        name: str,
        minute: str = "*",
        hour: str = "*",
        day_of_month: str = "*",
        month: str = "*",
        day_of_week: str = "*",
        is_active: bool = True,
        only_when_online: bool = False,
    ) -> dict[str, Any]:
        body = self._schedule_body(
            name, minute, hour, day_of_month, month, day_of_week, is_active, only_when_online
        )
        return self.t.item(
            "POST", f"{_server(server)}/schedules/{int(schedule_id)}", json=body, idempotent=True
        )

    def execute_schedule(self, server: str, schedule_id: int) -> None:
        self.t.request("POST", f"{_server(server)}/schedules/{int(schedule_id)}/execute")

    def delete_schedule(self, server: str, schedule_id: int) -> None:
        self.t.request("DELETE", f"{_server(server)}/schedules/{int(schedule_id)}")

    def create_task(
        self,
        server: str,
        schedule_id: int,
        *,
        action: str,
        payload: str = "",
        time_offset: int = 0,
        continue_on_failure: bool = False,
        sequence_id: int | None = None,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {
            "action": action,
            "payload": payload,
            "time_offset": int(time_offset),
            "continue_on_failure": bool(continue_on_failure),
        }
        if sequence_id is not None:
            body["sequence_id"] = int(sequence_id)
        return self.t.item(
            "POST", f"{_server(server)}/schedules/{int(schedule_id)}/tasks", json=body
        )

    def update_task(
        self,
        server: str,
        schedule_id: int,
        task_id: int,
        *,
        action: str,
        payload: str = "",
        time_offset: int = 0,
        continue_on_failure: bool = False,
    ) -> dict[str, Any]:
        body = {
            "action": action,
            "payload": payload,
            "time_offset": int(time_offset),
            "continue_on_failure": bool(continue_on_failure),
        }
        return self.t.item(
            "POST",
            f"{_server(server)}/schedules/{int(schedule_id)}/tasks/{int(task_id)}",
            json=body,
            idempotent=True,
        )

    def delete_task(self, server: str, schedule_id: int, task_id: int) -> None:
        self.t.request(
            "DELETE", f"{_server(server)}/schedules/{int(schedule_id)}/tasks/{int(task_id)}"
        )

    # --- network ------------------------------------------------------------------------

    def list_allocations(self, server: str) -> list[dict[str, Any]]:
        return self._list(self.t.request("GET", f"{_server(server)}/network/allocations"))

    def assign_allocation(self, server: str) -> dict[str, Any]:
        return self.t.item("POST", f"{_server(server)}/network/allocations")

    def set_allocation_notes(
        self, server: str, allocation_id: int, notes: str | None
    ) -> dict[str, Any]:
        return self.t.item(
            "POST",
            f"{_server(server)}/network/allocations/{int(allocation_id)}",
            json={"notes": notes},
            idempotent=True,
        )

    def set_primary_allocation(self, server: str, allocation_id: int) -> dict[str, Any]:
        return self.t.item(
            "POST",
            f"{_server(server)}/network/allocations/{int(allocation_id)}/primary",
            idempotent=True,
        )

    def delete_allocation(self, server: str, allocation_id: int) -> None:
        self.t.request("DELETE", f"{_server(server)}/network/allocations/{int(allocation_id)}")

    # --- subusers -----------------------------------------------------------------------

    def list_subusers(self, server: str) -> list[dict[str, Any]]:
        return self._list(self.t.request("GET", f"{_server(server)}/users"))

    def create_subuser(self, server: str, email: str, permissions: Iterable[str]) -> dict[str, Any]:
        return self.t.item(
            "POST",
            f"{_server(server)}/users",
            json={"email": email, "permissions": list(permissions)},
        )

    def get_subuser(self, server: str, user_uuid: str) -> dict[str, Any]:
        return self.t.item("GET", f"{_server(server)}/users/{_q(user_uuid)}")

    def update_subuser(
        self, server: str, user_uuid: str, permissions: Iterable[str]
    ) -> dict[str, Any]:
        return self.t.item(
            "POST",
            f"{_server(server)}/users/{_q(user_uuid)}",
            json={"permissions": list(permissions)},
            idempotent=True,
        )

    def delete_subuser(self, server: str, user_uuid: str) -> None:
        self.t.request("DELETE", f"{_server(server)}/users/{_q(user_uuid)}")

    # --- helpers ------------------------------------------------------------------------

    @staticmethod
    def _list(body: Any) -> list[dict[str, Any]]:
        found = unwrap(body)
        return found if isinstance(found, list) else []
