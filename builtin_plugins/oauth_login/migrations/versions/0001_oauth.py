"""oauth_login: linked identities and flows in progress

Revision ID: oauth_login_0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "oauth_login_0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "oauth_login_identity",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "user_id",
            sa.Integer,
            sa.ForeignKey(
                "user.id", ondelete="CASCADE", name="fk_oauth_login_identity_user_id_user"
            ),
            nullable=False,
        ),
        sa.Column("provider", sa.String(32), nullable=False),
        sa.Column("subject", sa.String(191), nullable=False),
        sa.Column("username", sa.String(191), nullable=False),
        sa.Column("email", sa.String(255), nullable=False),
        sa.Column("email_verified", sa.Boolean, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("last_login_at", sa.DateTime, nullable=True),
        sa.UniqueConstraint("provider", "subject", name="uq_oauth_login_identity_subject"),
        sa.UniqueConstraint("user_id", "provider", name="uq_oauth_login_identity_user"),
    )
    op.create_index("ix_oauth_login_identity_user_id", "oauth_login_identity", ["user_id"])
    op.create_table(
        "oauth_login_flow",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("state", sa.String(64), nullable=False),
        sa.Column("browser", sa.String(64), nullable=False),
        sa.Column("provider", sa.String(32), nullable=False),
        sa.Column("purpose", sa.String(16), nullable=False),
        sa.Column("user_id", sa.Integer, nullable=True),
        sa.Column("nonce", sa.String(64), nullable=False),
        sa.Column("code_verifier", sa.String(128), nullable=False),
        sa.Column("next_url", sa.String(500), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("identity", sa.JSON, nullable=True),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.UniqueConstraint("state", name="uq_oauth_login_flow_state"),
    )
    op.create_index("ix_oauth_login_flow_created_at", "oauth_login_flow", ["created_at"])


def downgrade():
    op.drop_table("oauth_login_flow")
    op.drop_table("oauth_login_identity")
