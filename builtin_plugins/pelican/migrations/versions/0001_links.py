"""pelican: user and server links

Revision ID: pe0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "pe0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "pelican_user_link",
        sa.Column(
            "user_id", sa.Integer, sa.ForeignKey("user.id", ondelete="CASCADE"), primary_key=True
        ),
        sa.Column("panel_user_id", sa.Integer, nullable=False, unique=True),
        sa.Column("panel_username", sa.String(255), nullable=False),
        sa.Column("origin", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("synced_at", sa.DateTime, nullable=True),
        sa.Column("last_error", sa.Text, nullable=False),
    )
    op.create_table(
        "pelican_server",
        sa.Column(
            "service_id",
            sa.Integer,
            sa.ForeignKey("store_service.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("server_id", sa.Integer, nullable=False),
        sa.Column("identifier", sa.String(8), nullable=False),
        sa.Column("uuid", sa.String(36), nullable=False),
        sa.Column("external_id", sa.String(255), nullable=False),
        sa.Column("node_id", sa.Integer, nullable=True),
        sa.Column("origin", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("deleted_at", sa.DateTime, nullable=True),
        sa.Column("drift", sa.Text, nullable=False),
        sa.Column("drift_at", sa.DateTime, nullable=True),
    )
    op.create_index("ix_pelican_server_server_id", "pelican_server", ["server_id"])


def downgrade():
    op.drop_table("pelican_server")
    op.drop_table("pelican_user_link")
