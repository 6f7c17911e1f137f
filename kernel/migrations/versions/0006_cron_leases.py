"""cron: lease owner, expiry and attempts per run; scheduler heartbeats

Revision ID: k0006
Revises: k0005
"""

import sqlalchemy as sa
from alembic import op

revision = "k0006"
down_revision = "k0005"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("cron_run") as batch:
        batch.add_column(sa.Column("owner", sa.String(128), nullable=False, server_default=""))
        batch.add_column(sa.Column("lease_until", sa.DateTime, nullable=True))
        batch.add_column(sa.Column("attempts", sa.Integer, nullable=False, server_default="1"))
    # Runs left "running" before leases existed cannot be told apart from live ones: close them
    # rather than re-running old slots on upgrade.
    op.execute(
        "UPDATE cron_run SET status = 'failed', error = 'interrupted (before cron leases "
        "existed)' WHERE status = 'running'"
    )
    op.create_table(
        "scheduler_heartbeat",
        sa.Column("node", sa.String(128), primary_key=True),
        sa.Column("started_at", sa.DateTime, nullable=False),
        sa.Column("seen_at", sa.DateTime, nullable=False),
    )
    op.create_index("ix_scheduler_heartbeat_seen_at", "scheduler_heartbeat", ["seen_at"])


def downgrade():
    op.drop_table("scheduler_heartbeat")
    with op.batch_alter_table("cron_run") as batch:
        for column in ("attempts", "lease_until", "owner"):
            batch.drop_column(column)
