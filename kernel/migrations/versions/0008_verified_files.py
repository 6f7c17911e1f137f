"""plugin gate: per-file hashes with scan records and plugin records; tables a plugin created

Revision ID: k0008
Revises: k0007
"""

import sqlalchemy as sa
from alembic import op

revision = "k0008"
down_revision = "k0007"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("scan_record") as batch:
        batch.add_column(sa.Column("files", sa.JSON, nullable=True))
    with op.batch_alter_table("plugin") as batch:
        batch.add_column(sa.Column("files", sa.JSON, nullable=True))
        batch.add_column(sa.Column("scan_id", sa.Integer, nullable=True))
        batch.add_column(sa.Column("tables", sa.JSON, nullable=True))
    # A plugin enabled before per-file hashes existed has no file list: the loader reports it
    # as update_pending ("scan and enable it again") instead of trusting a hash that skipped
    # __pycache__ and never covered individual files.


def downgrade():
    with op.batch_alter_table("plugin") as batch:
        for column in ("tables", "scan_id", "files"):
            batch.drop_column(column)
    with op.batch_alter_table("scan_record") as batch:
        batch.drop_column("files")
