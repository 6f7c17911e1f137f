"""pelican: local accounts shared on servers as Pelican subusers (the server tabs)

Revision ID: pe0002_tab_subusers
Revises: pe0001
"""

import sqlalchemy as sa
from alembic import op

revision = "pe0002_tab_subusers"
down_revision = "pe0001"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "pelican_subuser",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "service_id",
            sa.Integer,
            sa.ForeignKey("store_service.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "user_id", sa.Integer, sa.ForeignKey("user.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("panel_uuid", sa.String(36), nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.UniqueConstraint("service_id", "user_id", name="uq_pelican_subuser_service_user"),
    )
    op.create_index("ix_pelican_subuser_service_id", "pelican_subuser", ["service_id"])
    op.create_index("ix_pelican_subuser_user_id", "pelican_subuser", ["user_id"])


def downgrade():
    op.drop_table("pelican_subuser")
