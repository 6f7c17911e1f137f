"""email_log.body: the text of messages kept on this machine (console and file transports)

Revision ID: k0014
Revises: k0013
"""

import sqlalchemy as sa
from alembic import op

revision = "k0014"
down_revision = "k0013"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("email_log") as batch:
        batch.add_column(sa.Column("body", sa.Text, nullable=False, server_default=""))


def downgrade():
    with op.batch_alter_table("email_log") as batch:
        batch.drop_column("body")
