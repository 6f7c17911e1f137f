"""kernel: plugin health (failures per plugin and hook, counted by the hook caller)

Revision ID: k0007
Revises: k0006
"""

import sqlalchemy as sa
from alembic import op

revision = "k0007"
down_revision = "k0006"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "plugin_health",
        sa.Column("plugin", sa.String(64), nullable=False),
        sa.Column("hook", sa.String(128), nullable=False),
        sa.Column("failures", sa.Integer, nullable=False, server_default="0"),
        sa.Column("consecutive", sa.Integer, nullable=False, server_default="0"),
        sa.Column("last_error", sa.Text, nullable=False, server_default=""),
        sa.Column("last_error_at", sa.DateTime, nullable=True),
        sa.PrimaryKeyConstraint("plugin", "hook", name="pk_plugin_health"),
    )


def downgrade():
    op.drop_table("plugin_health")
