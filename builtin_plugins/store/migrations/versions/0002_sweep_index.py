"""store: index for the lifecycle sweep's keyset scan (state, expires_at, id)

Revision ID: st0002
Revises: st0001
"""

from alembic import op

revision = "st0002"
down_revision = "st0001"
branch_labels = None
depends_on = None


def upgrade():
    op.drop_index("ix_store_service_due", table_name="store_service")
    op.create_index("ix_store_service_due", "store_service", ["state", "expires_at", "id"])


def downgrade():
    op.drop_index("ix_store_service_due", table_name="store_service")
    op.create_index("ix_store_service_due", "store_service", ["state", "expires_at"])
