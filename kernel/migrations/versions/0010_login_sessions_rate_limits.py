"""login sessions (logout ends them server-side); rate-limit counters without Redis

Revision ID: k0010
Revises: k0009
"""

import sqlalchemy as sa
from alembic import op

revision = "k0010"
down_revision = "k0009"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "login_session",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column(
            "user_id",
            sa.Integer,
            sa.ForeignKey("user.id", ondelete="CASCADE", name="fk_login_session_user_id_user"),
            nullable=False,
        ),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("ended_at", sa.DateTime, nullable=True),
    )
    op.create_index("ix_login_session_user_id", "login_session", ["user_id"])
    op.create_index("ix_login_session_created_at", "login_session", ["created_at"])
    op.create_table(
        "rate_limit_counter",
        sa.Column("key", sa.String(191), primary_key=True),
        sa.Column("hits", sa.Integer, nullable=False),
        sa.Column("expires_at", sa.Float, nullable=False),
    )
    op.create_index("ix_rate_limit_counter_expires_at", "rate_limit_counter", ["expires_at"])


def downgrade():
    op.drop_table("rate_limit_counter")
    op.drop_table("login_session")
