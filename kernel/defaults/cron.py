"""The kernel's scheduled tasks: rescans, the outbox, payments, pruning, privacy."""

from __future__ import annotations

from kernel import hookimpl
from kernel.accounts import limit_storage, sessions
from kernel.cron import CronTask
from kernel.outbox import run_dispatcher
from kernel.payments import converge
from kernel.plugin_lifecycle.rescan import rescan_enabled
from kernel.privacy.erasure import run_due
from kernel.privacy.retention import prune_logs
from kernel.rest import idempotency
from kernel.webhooks import services as webhooks


@hookimpl(trylast=True)
def register_cron_tasks() -> list[CronTask]:
    return [
        CronTask(
            "kernel.rescan_plugins",
            "17 3 * * *",
            rescan_enabled,
            "Rescan enabled plugins; block any with a new CRITICAL finding",
        ),
        CronTask(
            "kernel.outbox",
            "* * * * *",
            run_dispatcher,
            "Hand jobs left in the outbox (their writer died) to the queue",
        ),
        CronTask(
            "payments.converge",
            "* * * * *",
            converge.run,
            "Ask providers about open payments and apply webhook events left waiting",
        ),
        CronTask(
            "kernel.prune_login_sessions",
            "23 4 * * *",
            sessions.prune,
            "Delete login sessions that were logged out or expired",
        ),
        CronTask(
            "kernel.prune_rate_limits",
            "*/15 * * * *",
            limit_storage.prune,
            "Delete rate-limit counters whose window ended",
        ),
        CronTask(
            "kernel.privacy",
            "*/10 * * * *",
            run_due,
            "Carry out due account erasures; delete expired data export files",
        ),
        CronTask(
            "kernel.prune_logs",
            "40 3 * * *",
            prune_logs,
            "Delete audit and email log entries older than their retention setting",
        ),
        CronTask(
            "kernel.prune_idempotency_keys",
            "50 3 * * *",
            idempotency.prune,
            f"Forget API Idempotency-Keys older than their replay window "
            f"({idempotency.REPLAY_WINDOW.days} days)",
        ),
        CronTask(
            "kernel.prune_webhook_deliveries",
            "55 3 * * *",
            webhooks.prune,
            "Delete webhook deliveries older than their retention setting (not those still retrying)",
        ),
    ]
