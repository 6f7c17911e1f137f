"""accounts: verification, email change, 2FA, language; recovery codes; email log

Revision ID: k0005
Revises: k0004
"""

import sqlalchemy as sa
from alembic import op

revision = "k0005"
down_revision = "k0004"
branch_labels = None
depends_on = None

USER_COLUMNS = (
    "email_verified_at",
    "pending_email",
    "token_version",
    "password_changed_at",
    "language",
    "totp_secret",
    "totp_enabled_at",
    "totp_last_counter",
    "last_login_at",
)


def upgrade():
    with op.batch_alter_table("user") as batch:
        batch.add_column(sa.Column("email_verified_at", sa.DateTime, nullable=True))
        batch.add_column(sa.Column("pending_email", sa.String(255), nullable=True))
        batch.add_column(sa.Column("token_version", sa.Integer, nullable=False, server_default="0"))
        batch.add_column(sa.Column("password_changed_at", sa.DateTime, nullable=True))
        batch.add_column(sa.Column("language", sa.String(8), nullable=False, server_default=""))
        batch.add_column(sa.Column("totp_secret", sa.Text, nullable=False, server_default=""))
        batch.add_column(sa.Column("totp_enabled_at", sa.DateTime, nullable=True))
        batch.add_column(sa.Column("totp_last_counter", sa.Integer, nullable=True))
        batch.add_column(sa.Column("last_login_at", sa.DateTime, nullable=True))
    # Accounts made before verification existed count as verified: nobody gets locked out.
    op.execute('UPDATE "user" SET email_verified_at = created_at')
    op.create_table(
        "recovery_code",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "user_id",
            sa.Integer,
            sa.ForeignKey("user.id", ondelete="CASCADE", name="fk_recovery_code_user_id_user"),
            nullable=False,
        ),
        sa.Column("code_hash", sa.String(64), nullable=False),
        sa.Column("used_at", sa.DateTime, nullable=True),
    )
    op.create_index("ix_recovery_code_user_id", "recovery_code", ["user_id"])
    op.create_table(
        "email_log",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("recipient", sa.String(255), nullable=False),
        sa.Column("subject", sa.String(255), nullable=False),
        sa.Column("template", sa.String(128), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("error", sa.Text, nullable=False),
    )
    op.create_index("ix_email_log_created_at", "email_log", ["created_at"])
    op.create_index("ix_email_log_recipient", "email_log", ["recipient"])


def downgrade():
    op.drop_table("email_log")
    op.drop_table("recovery_code")
    with op.batch_alter_table("user") as batch:
        for column in reversed(USER_COLUMNS):
            batch.drop_column(column)
