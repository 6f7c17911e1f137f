"""hello_world: greeting table

Revision ID: hw0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "hw0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "hello_world_greeting",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("text", sa.String(200), nullable=False),
        sa.Column("by", sa.String(255), nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )
    op.create_index("ix_hello_world_greeting_created_at", "hello_world_greeting", ["created_at"])


def downgrade():
    op.drop_table("hello_world_greeting")
