"""The schedules tab: cron schedules and their tasks (each task needs the permission
doing it by hand would need)."""

from __future__ import annotations

import re
from typing import Any

from flask_babel import gettext as _

from builtin_plugins.panel_kit.client_api import POWER_SIGNALS
from builtin_plugins.panel_kit.tabs.access import Access
from builtin_plugins.panel_kit.tabs.actions import (
    TabError,
    config,
    flag_input,
    number_input,
    record,
    require,
    text_input,
    with_client,
)
from builtin_plugins.panel_kit.tabs.console import MAX_COMMAND, POWER_PERMISSION

CRON_PART = re.compile(r"^[A-Za-z0-9*,/-]{1,64}$")
TASK_ACTIONS = ("command", "power", "backup")
MAX_TASK_OFFSET = 900


def _schedule_id(schedule: Any) -> int:
    return number_input(schedule, _("There is no such schedule."))


def schedules(access: Access) -> list[dict[str, Any]]:
    require(access, "schedule.read")
    return with_client(access, lambda c: c.client.list_schedules(access.identifier))


def schedule(access: Access, schedule_id: Any) -> dict[str, Any]:
    require(access, "schedule.read")
    number = _schedule_id(schedule_id)
    return with_client(access, lambda c: c.client.get_schedule(access.identifier, number))


def create_schedule(access: Access, form: dict[str, Any]) -> dict[str, Any]:
    require(access, "schedule.create")
    name = text_input(form.get("name"), _("The schedule name"))
    cron = {}
    labels = {
        "minute": _("Minute"),
        "hour": _("Hour"),
        "day_of_month": _("Day of month"),
        "month": _("Month"),
        "day_of_week": _("Day of week"),
    }
    for part, label in labels.items():
        value = str(form.get(part) or "*").strip() or "*"
        if not CRON_PART.match(value):
            raise TabError(
                _("%(field)s must be a cron value such as *, 5, */15 or 1-5.", field=label)
            )
        cron[part] = value
    created = with_client(
        access,
        lambda c: c.client.create_schedule(
            access.identifier,
            name=name,
            is_active=flag_input(form.get("is_active")),
            only_when_online=flag_input(form.get("only_when_online")),
            **cron,
        ),
    )
    record(access, "schedule_create", schedule=created.get("id"))
    return created


def run_schedule(access: Access, schedule_id: Any) -> None:
    require(access, "schedule.update")
    number = _schedule_id(schedule_id)
    with_client(access, lambda c: c.client.execute_schedule(access.identifier, number))
    record(access, "schedule_run", schedule=number)


def delete_schedule(access: Access, schedule_id: Any) -> None:
    require(access, "schedule.delete")
    number = _schedule_id(schedule_id)
    with_client(access, lambda c: c.client.delete_schedule(access.identifier, number))
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
        payload = text_input(payload, _("The command"), limit=MAX_COMMAND)
    elif action == "power":
        if payload not in POWER_SIGNALS:
            raise TabError(_("Choose start, stop, restart or kill."))
        require(access, POWER_PERMISSION[payload])
    else:
        require(access, "backup.create")
        if config(access).backups <= 0:
            raise TabError(_("Your plan includes no backups."))
        payload = text_input(payload, _("The ignored files"), required=False, limit=MAX_COMMAND)
    try:
        offset = int(str(form.get("time_offset") or "0").strip())
    except ValueError:
        offset = -1
    if not 0 <= offset <= MAX_TASK_OFFSET:
        raise TabError(_("The delay must be between 0 and %(n)d seconds.", n=MAX_TASK_OFFSET))
    created = with_client(
        access,
        lambda c: c.client.create_task(
            access.identifier,
            number,
            action=action,
            payload=payload,
            time_offset=offset,
            continue_on_failure=flag_input(form.get("continue_on_failure")),
        ),
    )
    record(access, "task_create", schedule=number, action=action)
    return created


def delete_task(access: Access, schedule_id: Any, task_id: Any) -> None:
    require(access, "schedule.update")
    number = _schedule_id(schedule_id)
    try:
        task = int(str(task_id))
    except (TypeError, ValueError):
        raise TabError(_("There is no such task."), 404) from None
    with_client(access, lambda c: c.client.delete_task(access.identifier, number, task))
    record(access, "task_delete", schedule=number, task=task)
