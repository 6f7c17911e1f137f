"""pterodactyl: the shared cache of servers' live states (when no Redis is configured)

Revision ID: pt0003_live_state
Revises: pt0002_tab_subusers
"""

import sqlalchemy as sa
from alembic import op

revision = "pt0003_live_state"
down_revision = "pt0002_tab_subusers"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "pterodactyl_live_state",
        sa.Column(
            "service_id",
            sa.Integer,
            sa.ForeignKey("store_service.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("detail", sa.Text, nullable=False),
        sa.Column("checked_at", sa.DateTime, nullable=False),
    )


def downgrade():
    op.drop_table("pterodactyl_live_state")
