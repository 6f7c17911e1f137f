"""invoices: (issued_at, id) and (user_id, issued_at, id) indexes for keyset pages

The admin's documents and a customer's invoices page newest issued first by cursor: each page
is one range of these indexes, whatever its depth. They replace the single-column indexes on
issued_at and user_id (each is the leading part of one of them).

Revision ID: invoices_0002
Revises: invoices_0001
"""

from alembic import op

revision = "invoices_0002"
down_revision = "invoices_0001"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_invoices_document_issued_id", "invoices_document", ["issued_at", "id"])
    op.create_index(
        "ix_invoices_document_user_issued_id", "invoices_document", ["user_id", "issued_at", "id"]
    )
    op.drop_index("ix_invoices_document_issued_at", table_name="invoices_document")
    op.drop_index("ix_invoices_document_user_id", table_name="invoices_document")


def downgrade():
    op.create_index("ix_invoices_document_user_id", "invoices_document", ["user_id"])
    op.create_index("ix_invoices_document_issued_at", "invoices_document", ["issued_at"])
    op.drop_index("ix_invoices_document_user_issued_id", table_name="invoices_document")
    op.drop_index("ix_invoices_document_issued_id", table_name="invoices_document")
