"""scan records of the plugin security gate

Revision ID: k0002
Revises: k0001
"""

import sqlalchemy as sa
from alembic import op

revision = "k0002"
down_revision = "k0001"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "scan_record",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("plugin", sa.String(64), nullable=False),
        sa.Column("version", sa.String(64), nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("findings", sa.JSON, nullable=False),
        sa.Column("tool_versions", sa.JSON, nullable=False),
        sa.Column("policy_version", sa.String(32), nullable=False),
        sa.Column("advisory_state", sa.String(16), nullable=False),
        sa.Column("verdict", sa.String(8), nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )
    op.create_index("ix_scan_record_plugin", "scan_record", ["plugin"])
    op.create_index("ix_scan_record_created_at", "scan_record", ["created_at"])


def downgrade():
    op.drop_table("scan_record")
