"""store: (column, id) indexes for the admin lists' keyset pages

The admin's servers list pages newest first by cursor; filtered by state, each page is one
range of (state, id) (the sweep's (state, expires_at, id) index orders by expiry instead).
The voucher uses, filtered by a code, are one range of (voucher_id, id), which replaces the
index on voucher_id alone.

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
    op.create_index(
        "ix_store_voucher_usage_voucher_list", "store_voucher_usage", ["voucher_id", "id"]
    )
    op.drop_index("ix_store_voucher_usage_voucher_id", table_name="store_voucher_usage")


def downgrade():
    op.create_index("ix_store_voucher_usage_voucher_id", "store_voucher_usage", ["voucher_id"])
    op.drop_index("ix_store_voucher_usage_voucher_list", table_name="store_voucher_usage")
    op.drop_index("ix_store_service_state_id", table_name="store_service")
