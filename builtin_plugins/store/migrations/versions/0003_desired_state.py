"""store: desired panel state of each service, the reconciler's progress and its attempts

Revision ID: st0003
Revises: st0002
"""

import sqlalchemy as sa
from alembic import op

revision = "st0003"
down_revision = "st0002"
branch_labels = None
depends_on = None


def columns() -> list[sa.Column]:
    return [
        sa.Column("desired_state", sa.String(16), nullable=False, server_default="active"),
        sa.Column("panel_state", sa.String(16), nullable=False, server_default=""),
        sa.Column("sync_status", sa.String(16), nullable=False, server_default="ok"),
        sa.Column("sync_version", sa.Integer, nullable=False, server_default="0"),
        sa.Column("sync_attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("sync_next_at", sa.DateTime, nullable=True),
        sa.Column("sync_claimed_until", sa.DateTime, nullable=True),
        sa.Column("sync_claim", sa.String(32), nullable=False, server_default=""),
        sa.Column("sync_error", sa.Text, nullable=False, server_default=""),
        sa.Column("synced_at", sa.DateTime, nullable=True),
    ]


def upgrade():
    with op.batch_alter_table("store_service") as batch:
        for column in columns():
            batch.add_column(column)
    # Existing servers are taken as in step with their state; the next reconcile compares.
    op.execute(
        "UPDATE store_service SET desired_state = 'suspended', panel_state = 'suspended' "
        "WHERE state = 'suspended'"
    )
    op.execute(
        "UPDATE store_service SET desired_state = 'deleted', panel_state = 'deleted' "
        "WHERE state IN ('terminated', 'provisioning_failed')"
    )
    op.execute("UPDATE store_service SET panel_state = 'active' WHERE state = 'active'")
    op.create_index("ix_store_service_sync", "store_service", ["sync_status", "sync_next_at"])
    op.create_table(
        "store_sync_attempt",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "service_id",
            sa.Integer,
            sa.ForeignKey("store_service.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("desired", sa.String(16), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("panel_state", sa.String(16), nullable=False),
        sa.Column("detail", sa.Text, nullable=False),
    )
    op.create_index("ix_store_sync_attempt_service_id", "store_sync_attempt", ["service_id"])


def downgrade():
    op.drop_table("store_sync_attempt")
    op.drop_index("ix_store_service_sync", table_name="store_service")
    with op.batch_alter_table("store_service") as batch:
        for column in reversed(columns()):
            batch.drop_column(column.name)
