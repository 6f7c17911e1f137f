"""store: sells plans and drives provisioners through hooks it defines itself."""

from __future__ import annotations

from kernel import hookimpl


@hookimpl
def register_hookspecs():
    from builtin_plugins.store import hookspecs

    return [hookspecs]


@hookimpl
def register_provisioners():
    from builtin_plugins.store.provisioning import ManualProvisioner

    return [ManualProvisioner()]


@hookimpl
def register_permissions():
    return [("store.manage", "Manage the catalog, servers and vouchers")]


@hookimpl
def register_cron_tasks():
    from builtin_plugins.store import sweep
    from kernel.cron import CronTask

    return [
        CronTask("store.lifecycle", "* * * * *", sweep.run_lifecycle,
                 "Renew, charge on demand or suspend servers past their expiry"),
        CronTask("store.cleanup", "30 3 * * *", sweep.run_cleanup,
                 "Delete servers left suspended for non-payment; warn before"),
    ]
