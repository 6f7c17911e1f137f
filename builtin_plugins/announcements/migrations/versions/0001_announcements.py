"""announcements: announcements, dismissals, email deliveries

Revision ID: announcements_0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "announcements_0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "announcements_announcement",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("title", sa.String(160), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("level", sa.String(16), nullable=False),
        sa.Column("audience", sa.String(16), nullable=False),
        sa.Column("product_ids", sa.JSON, nullable=False),
        sa.Column("node_ids", sa.JSON, nullable=False),
        sa.Column("starts_at", sa.DateTime, nullable=False),
        sa.Column("ends_at", sa.DateTime, nullable=True),
        sa.Column("dismissible", sa.Boolean, nullable=False),
        sa.Column("email", sa.Boolean, nullable=False),
        sa.Column("emailed_at", sa.DateTime, nullable=True),
        sa.Column("created_by", sa.String(255), nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("updated_at", sa.DateTime, nullable=False),
    )
    op.create_index(
        "ix_announcements_announcement_starts_at", "announcements_announcement", ["starts_at"]
    )
    op.create_index(
        "ix_announcements_announcement_ends_at", "announcements_announcement", ["ends_at"]
    )
    op.create_table(
        "announcements_dismissal",
        sa.Column(
            "announcement_id",
            sa.Integer,
            sa.ForeignKey("announcements_announcement.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("user.id"), primary_key=True),
        sa.Column("dismissed_at", sa.DateTime, nullable=False),
    )
    op.create_index("ix_announcements_dismissal_user_id", "announcements_dismissal", ["user_id"])
    op.create_table(
        "announcements_delivery",
        sa.Column(
            "announcement_id",
            sa.Integer,
            sa.ForeignKey("announcements_announcement.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("user.id"), primary_key=True),
        sa.Column("sent_at", sa.DateTime, nullable=False),
    )


def downgrade():
    for table in (
        "announcements_delivery",
        "announcements_dismissal",
        "announcements_announcement",
    ):
        op.drop_table(table)
