"""support: (user_id, status, last_message_at, id) index for a customer's ticket pages

A customer's tickets page by cursor, open first then latest message: each page is one range
of this index. It replaces the index on user_id alone (its leading column).

Revision ID: support_0002
Revises: support_0001
"""

from alembic import op

revision = "support_0002"
down_revision = "support_0001"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index(
        "ix_support_ticket_user_list",
        "support_ticket",
        ["user_id", "status", "last_message_at", "id"],
    )
    op.drop_index("ix_support_ticket_user_id", table_name="support_ticket")


def downgrade():
    op.create_index("ix_support_ticket_user_id", "support_ticket", ["user_id"])
    op.drop_index("ix_support_ticket_user_list", table_name="support_ticket")
