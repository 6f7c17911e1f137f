"""support: tickets, messages, attachments, read marks, saved replies, blocks, categories

Revision ID: support_0001
Revises:
"""

import shutil
from pathlib import Path

import sqlalchemy as sa
from alembic import op
from flask import current_app, has_app_context

revision = "support_0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    category = op.create_table(
        "support_category",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(80), nullable=False),
        sa.Column("description", sa.String(255), nullable=False),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
    )
    op.create_table(
        "support_ticket",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("user.id"), nullable=False),
        sa.Column("subject", sa.String(160), nullable=False),
        sa.Column(
            "category_id",
            sa.Integer,
            sa.ForeignKey("support_category.id", ondelete="SET NULL"),
            nullable=True,
        ),
        sa.Column("priority", sa.String(8), nullable=False),
        sa.Column("status", sa.String(8), nullable=False),
        sa.Column("waiting_on", sa.String(8), nullable=False),
        sa.Column("waiting_since", sa.DateTime, nullable=True),
        sa.Column("service_id", sa.Integer, nullable=True),
        sa.Column("server_snapshot", sa.JSON, nullable=False),
        sa.Column("assignee_id", sa.Integer, sa.ForeignKey("user.id"), nullable=True),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("last_message_at", sa.DateTime, nullable=False),
        sa.Column("last_customer_at", sa.DateTime, nullable=True),
        sa.Column("last_staff_at", sa.DateTime, nullable=True),
        sa.Column("first_response_at", sa.DateTime, nullable=True),
        sa.Column("closed_at", sa.DateTime, nullable=True),
    )
    op.create_index("ix_support_ticket_user_id", "support_ticket", ["user_id"])
    op.create_index("ix_support_ticket_service_id", "support_ticket", ["service_id"])
    op.create_index("ix_support_ticket_assignee_id", "support_ticket", ["assignee_id"])
    op.create_index("ix_support_ticket_created_at", "support_ticket", ["created_at"])
    op.create_index(
        "ix_support_ticket_queue", "support_ticket", ["status", "waiting_on", "waiting_since"]
    )
    op.create_table(
        "support_message",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "ticket_id",
            sa.Integer,
            sa.ForeignKey("support_ticket.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("author_id", sa.Integer, sa.ForeignKey("user.id"), nullable=True),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("from_staff", sa.Boolean, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )
    op.create_index("ix_support_message_ticket_id", "support_message", ["ticket_id"])
    op.create_table(
        "support_attachment",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "ticket_id",
            sa.Integer,
            sa.ForeignKey("support_ticket.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "message_id",
            sa.Integer,
            sa.ForeignKey("support_message.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("uploader_id", sa.Integer, sa.ForeignKey("user.id"), nullable=True),
        sa.Column("filename", sa.String(120), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("size", sa.Integer, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("storage_key", sa.String(64), nullable=False, unique=True),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )
    op.create_index("ix_support_attachment_ticket_id", "support_attachment", ["ticket_id"])
    op.create_index("ix_support_attachment_message_id", "support_attachment", ["message_id"])
    op.create_table(
        "support_read",
        sa.Column(
            "ticket_id",
            sa.Integer,
            sa.ForeignKey("support_ticket.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("user.id"), primary_key=True),
        sa.Column("read_at", sa.DateTime, nullable=False),
    )
    op.create_table(
        "support_saved_reply",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("title", sa.String(120), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("updated_at", sa.DateTime, nullable=False),
    )
    op.create_table(
        "support_block",
        sa.Column("user_id", sa.Integer, sa.ForeignKey("user.id"), primary_key=True),
        sa.Column("reason", sa.String(255), nullable=False),
        sa.Column("blocked_by", sa.String(255), nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )
    op.bulk_insert(
        category,
        [
            {
                "name": "General",
                "description": "Questions about your account or our service",
                "active": True,
                "position": 0,
            },
            {
                "name": "Billing",
                "description": "Payments, renewals and your wallet",
                "active": True,
                "position": 1,
            },
            {
                "name": "Technical",
                "description": "A server that does not work as it should",
                "active": True,
                "position": 2,
            },
        ],
    )


def downgrade():
    for table in (
        "support_block",
        "support_saved_reply",
        "support_read",
        "support_attachment",
        "support_message",
        "support_ticket",
        "support_category",
    ):
        op.drop_table(table)
    if has_app_context():  # purge: the attached files go with their rows
        shutil.rmtree(
            Path(current_app.config["INSTANCE_PATH"]) / "support" / "attachments",
            ignore_errors=True,
        )
