"""(column, id) indexes for keyset pages of the tables that grow without bound

The audit log, the email log, the ledger and the payments are listed newest first by id, a
page at a time from a cursor (kernel/paging.py). Filtered by one column, a page is then one
range of a ``(column, id)`` index: it reads its own rows whatever the table's size (on
PostgreSQL a single-column index orders equal keys by their place on disk, not by id).

Revision ID: k0015
Revises: k0014
"""

from alembic import op

revision = "k0015"
down_revision = "k0014"
branch_labels = None
depends_on = None

INDEXES = (
    ("ix_audit_log_action_id", "audit_log", ("action", "id")),
    ("ix_audit_log_actor_id", "audit_log", ("actor", "id")),
    ("ix_audit_log_target_id", "audit_log", ("target", "id")),
    ("ix_email_log_recipient_id", "email_log", ("recipient", "id")),
    ("ix_email_log_status_id", "email_log", ("status", "id")),
    ("ix_email_log_template_id", "email_log", ("template", "id")),
    ("ix_ledger_entry_user_id_id", "ledger_entry", ("user_id", "id")),
    ("ix_payment_status_id", "payment", ("status", "id")),
    ("ix_payment_provider_id", "payment", ("provider", "id")),
)


def upgrade():
    for name, table, columns in INDEXES:
        op.create_index(name, table, list(columns))


def downgrade():
    for name, table, _ in reversed(INDEXES):
        op.drop_index(name, table_name=table)
