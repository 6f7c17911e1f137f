"""store: (state, id) index for the admin servers list's keyset pages

The admin's servers list pages newest first by cursor; filtered by state, each page is one
range of this index (the sweep's (state, expires_at, id) index orders by expiry instead).

Revision ID: st0004
Revises: st0003
"""

from alembic import op

revision = "st0004"
down_revision = "st0003"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_store_service_state_id", "store_service", ["state", "id"])


def downgrade():
    op.drop_index("ix_store_service_state_id", table_name="store_service")
