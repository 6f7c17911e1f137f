"""outbox: jobs written with the change they carry out; email_log.key for exactly-once batches

Revision ID: k0012
Revises: k0011
"""

import sqlalchemy as sa
from alembic import op

revision = "k0012"
down_revision = "k0011"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("job", sa.String(255), nullable=False),
        sa.Column("args", sa.JSON, nullable=False),
        sa.Column("kwargs", sa.JSON, nullable=False),
        sa.Column("queue", sa.String(32), nullable=False, server_default=""),
        sa.Column("status", sa.String(16), nullable=False, server_default="pending"),
        sa.Column("available_at", sa.DateTime, nullable=False),
        sa.Column("claimed_until", sa.DateTime, nullable=True),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("dispatched_at", sa.DateTime, nullable=True),
        sa.Column("last_error", sa.Text, nullable=False, server_default=""),
    )
    op.create_index("ix_outbox_due", "outbox", ["status", "available_at", "id"])
    with op.batch_alter_table("email_log") as batch:
        batch.add_column(sa.Column("key", sa.String(191), nullable=True))
        batch.create_unique_constraint("uq_email_log_key", ["key"])


def downgrade():
    with op.batch_alter_table("email_log") as batch:
        batch.drop_constraint("uq_email_log_key", type_="unique")
        batch.drop_column("key")
    op.drop_table("outbox")
