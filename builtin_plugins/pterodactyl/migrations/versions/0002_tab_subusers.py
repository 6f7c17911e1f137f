"""pterodactyl: local accounts shared on servers as panel subusers (the server tabs)

Revision ID: pt0002_tab_subusers
Revises: pt0001
"""

import sqlalchemy as sa
from alembic import op

revision = "pt0002_tab_subusers"
down_revision = "pt0001"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "pterodactyl_subuser",
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
        sa.UniqueConstraint("service_id", "user_id", name="uq_pterodactyl_subuser_service_user"),
    )
    op.create_index("ix_pterodactyl_subuser_service_id", "pterodactyl_subuser", ["service_id"])
    op.create_index("ix_pterodactyl_subuser_user_id", "pterodactyl_subuser", ["user_id"])


def downgrade():
    op.drop_table("pterodactyl_subuser")
