"""Words for what the server tabs show and record, for any panel plugin's ``audit_labels``.

:data:`ACTIVITY_LABELS` names the events of a server's Activity tab (the panel's own event
names, the same in Pterodactyl and Pelican); :func:`tab_action_labels` names the audit
entries the tabs write as ``<plugin>.<action>`` (tabs/actions.record).
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

ACTIVITY_LABELS = {
    "server:power.start": _l("Server started"),
    "server:power.stop": _l("Server stopped"),
    "server:power.restart": _l("Server restarted"),
    "server:power.kill": _l("Server killed"),
    "server:console.command": _l("Console command sent"),
    "server:backup.start": _l("Backup started"),
    "server:backup.complete": _l("Backup finished"),
    "server:backup.fail": _l("Backup failed"),
    "server:backup.delete": _l("Backup deleted"),
    "server:backup.download": _l("Backup downloaded"),
    "server:backup.restore": _l("Backup restored"),
    "server:backup.restore-complete": _l("Backup restore finished"),
    "server:backup.restore-failed": _l("Backup restore failed"),
    "server:backup.lock": _l("Backup locked"),
    "server:backup.unlock": _l("Backup unlocked"),
    "server:database.create": _l("Database created"),
    "server:database.delete": _l("Database deleted"),
    "server:database.rotate-password": _l("Database password changed"),
    "server:allocation.create": _l("Port added"),
    "server:allocation.delete": _l("Port removed"),
    "server:allocation.notes": _l("Port note changed"),
    "server:allocation.primary": _l("Primary port changed"),
    "server:schedule.create": _l("Schedule created"),
    "server:schedule.update": _l("Schedule changed"),
    "server:schedule.delete": _l("Schedule deleted"),
    "server:schedule.execute": _l("Schedule run"),
    "server:task.create": _l("Schedule task added"),
    "server:task.update": _l("Schedule task changed"),
    "server:task.delete": _l("Schedule task removed"),
    "server:settings.rename": _l("Server renamed"),
    "server:settings.description": _l("Description changed"),
    "server:settings.reinstall": _l("Server reinstalled"),
    "server:startup.edit": _l("Startup setting changed"),
    "server:startup.image": _l("Docker image changed"),
    "server:subuser.create": _l("Shared access granted"),
    "server:subuser.update": _l("Shared access changed"),
    "server:subuser.delete": _l("Shared access removed"),
    "server:file.read": _l("File opened"),
    "server:file.write": _l("File saved"),
    "server:file.delete": _l("Files deleted"),
    "server:file.rename": _l("File renamed"),
    "server:file.copy": _l("File copied"),
    "server:file.compress": _l("Files compressed"),
    "server:file.decompress": _l("Archive unpacked"),
    "server:file.create-directory": _l("Folder created"),
    "server:file.upload": _l("File uploaded"),
    "server:file.uploaded": _l("File uploaded"),
    "server:file.download": _l("File downloaded"),
    "server:file.pull": _l("File fetched from a URL"),
    "server:sftp.create": _l("File created over SFTP"),
    "server:sftp.write": _l("File changed over SFTP"),
    "server:sftp.delete": _l("File deleted over SFTP"),
    "server:sftp.rename": _l("File renamed over SFTP"),
    "server:sftp.create-directory": _l("Folder created over SFTP"),
}

TAB_ACTIONS = {
    "allocation_add": _l("Port added"),
    "allocation_delete": _l("Port removed"),
    "allocation_notes": _l("Port note changed"),
    "allocation_primary": _l("Primary port changed"),
    "backup_create": _l("Backup started"),
    "backup_delete": _l("Backup deleted"),
    "backup_download": _l("Backup downloaded"),
    "backup_lock": _l("Backup lock changed"),
    "backup_restore": _l("Backup restored"),
    "database_create": _l("Database created"),
    "database_delete": _l("Database deleted"),
    "database_rotate": _l("Database password changed"),
    "power": _l("Power action"),
    "reinstall": _l("Server reinstalled"),
    "schedule_create": _l("Schedule created"),
    "schedule_delete": _l("Schedule deleted"),
    "schedule_run": _l("Schedule run"),
    "startup_variable": _l("Startup setting changed"),
    "subuser_invite": _l("Shared access granted"),
    "subuser_remove": _l("Shared access removed"),
    "subuser_update": _l("Shared access changed"),
    "task_create": _l("Schedule task added"),
    "task_delete": _l("Schedule task removed"),
}


def tab_action_labels(plugin: str) -> dict:
    """``{"<plugin>.<action>": label}`` for the changes the tabs audit-log for ``plugin``."""
    return {f"{plugin}.{action}": label for action, label in TAB_ACTIONS.items()}
