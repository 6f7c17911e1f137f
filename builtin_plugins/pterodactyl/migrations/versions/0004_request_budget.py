"""pterodactyl: the panel request budget's buckets (when no Redis is configured)

Revision ID: pt0004_request_budget
Revises: pt0003_live_state
"""

import sqlalchemy as sa
from alembic import op

revision = "pt0004_request_budget"
down_revision = "pt0003_live_state"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "pterodactyl_request_budget",
        sa.Column("scope", sa.String(191), primary_key=True),
        sa.Column("tokens", sa.Float, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
    )


def downgrade():
    op.drop_table("pterodactyl_request_budget")
