"""pterodactyl: where an interrupted reconcile run stopped

Revision ID: pt0005_run_cursor
Revises: pt0004_request_budget
"""

import sqlalchemy as sa
from alembic import op

revision = "pt0005_run_cursor"
down_revision = "pt0004_request_budget"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "pterodactyl_run_cursor",
        sa.Column("scope", sa.String(191), primary_key=True),
        sa.Column("state", sa.Text, nullable=False),
        sa.Column("updated_at", sa.DateTime, nullable=False),
    )


def downgrade():
    op.drop_table("pterodactyl_run_cursor")
