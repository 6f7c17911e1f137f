"""privacy: data exports, erasure requests, the erased mark on accounts

Revision ID: k0011
Revises: k0010
"""

import sqlalchemy as sa
from alembic import op

revision = "k0011"
down_revision = "k0010"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("user") as batch:
        batch.add_column(sa.Column("erased_at", sa.DateTime, nullable=True))
    op.create_table(
        "privacy_export",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "user_id",
            sa.Integer,
            sa.ForeignKey("user.id", ondelete="CASCADE", name="fk_privacy_export_user_id_user"),
            nullable=False,
        ),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("ready_at", sa.DateTime, nullable=True),
        sa.Column("expires_at", sa.DateTime, nullable=True),
        sa.Column("filename", sa.String(80), nullable=False),
        sa.Column("size", sa.Integer, nullable=False),
        sa.Column("missing", sa.Text, nullable=False),
    )
    op.create_index("ix_privacy_export_user_id", "privacy_export", ["user_id"])
    op.create_index("ix_privacy_export_status", "privacy_export", ["status"])
    op.create_index("ix_privacy_export_expires_at", "privacy_export", ["expires_at"])
    op.create_table(
        "privacy_erasure",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "user_id",
            sa.Integer,
            sa.ForeignKey("user.id", name="fk_privacy_erasure_user_id_user"),
            nullable=False,
        ),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("requested_at", sa.DateTime, nullable=False),
        sa.Column("due_at", sa.DateTime, nullable=False),
        sa.Column("requested_by", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("last_error", sa.Text, nullable=False),
        sa.Column("finished_at", sa.DateTime, nullable=True),
        sa.Column("erased_by", sa.JSON, nullable=True),
    )
    op.create_index("ix_privacy_erasure_user_id", "privacy_erasure", ["user_id"])
    op.create_index("ix_privacy_erasure_status", "privacy_erasure", ["status"])
    op.create_index("ix_privacy_erasure_due_at", "privacy_erasure", ["due_at"])


def downgrade():
    op.drop_table("privacy_erasure")
    op.drop_table("privacy_export")
    with op.batch_alter_table("user") as batch:
        batch.drop_column("erased_at")
