"""pelican: where an interrupted reconcile run stopped

Revision ID: pe0004_run_cursor
Revises: pe0003_request_budget
"""

import sqlalchemy as sa
from alembic import op

revision = "pe0004_run_cursor"
down_revision = "pe0003_request_budget"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "pelican_run_cursor",
        sa.Column("scope", sa.String(191), primary_key=True),
        sa.Column("state", sa.Text, nullable=False),
        sa.Column("updated_at", sa.DateTime, nullable=False),
    )


def downgrade():
    op.drop_table("pelican_run_cursor")
