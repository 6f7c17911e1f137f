"""How long the audit log and the email log keep entries, and the nightly task that prunes them.

The ``audit_log_retention_days`` and ``email_log_retention_days`` site settings (Settings ->
Privacy; 0 keeps entries forever) bound how long addresses and IP addresses stay in the logs.
The task deletes in batches, each its own transaction, so a first run over years of entries
never holds a long lock; running it twice is harmless. :func:`delete_older` is that batched
delete, shared by the other tables that are pruned by age (API idempotency keys, webhook
deliveries).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from kernel import audit, clock, site_settings
from kernel.extensions import db
from kernel.mail_delivery import EmailLog
from kernel.models import AuditLog

BATCH = 5000
LOGS = {
    "audit_log": (AuditLog, "audit_log_retention_days"),
    "email_log": (EmailLog, "email_log_retention_days"),
}


def delete_older(model, cutoff: datetime, batch: int = BATCH, keep=None) -> int:
    """Delete ``model`` rows created before ``cutoff`` (except those matching ``keep``, an SQL
    condition), ``batch`` ids at a time, committing each batch; returns how many went.

    Each batch is the oldest rows, read in ``created_at`` index order (the scan stops after
    ``batch`` rows: no sort of the whole backlog), and deleted by primary key, so a table of
    millions of rows is never scanned or locked as a whole."""
    where = [model.created_at < cutoff]
    if keep is not None:
        where.append(~keep)
    deleted = 0
    while True:
        ids = list(
            db.session.scalars(
                db.select(model.id).where(*where).order_by(model.created_at).limit(batch)
            )
        )
        if not ids:
            return deleted
        db.session.execute(db.delete(model).where(model.id.in_(ids)))
        db.session.commit()
        deleted += len(ids)


def prune_logs(now: datetime | None = None, batch: int = BATCH) -> dict[str, int]:
    """Cron task ``kernel.prune_logs``: delete log entries older than their retention."""
    now = now or clock.now()
    counts = {}
    for name, (model, key) in LOGS.items():
        days = int(site_settings.get(key) or 0)
        if days > 0:
            counts[name] = delete_older(model, now - timedelta(days=days), batch)
    if any(counts.values()):
        audit.record("privacy.logs_pruned", "", counts, actor="system")
    return counts
