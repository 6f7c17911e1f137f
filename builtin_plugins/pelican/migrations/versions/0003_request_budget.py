"""pelican: the Pelican request budget's buckets (when no Redis is configured)

Revision ID: pe0003_request_budget
Revises: pe0002_tab_subusers
"""

import sqlalchemy as sa
from alembic import op

revision = "pe0003_request_budget"
down_revision = "pe0002_tab_subusers"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "pelican_request_budget",
        sa.Column("scope", sa.String(191), primary_key=True),
        sa.Column("tokens", sa.Float, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
    )


def downgrade():
    op.drop_table("pelican_request_budget")
