"""wallets, ledger and payments

Revision ID: k0004
Revises: k0003
"""

import sqlalchemy as sa
from alembic import op

revision = "k0004"
down_revision = "k0003"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "wallet",
        sa.Column(
            "user_id",
            sa.Integer,
            sa.ForeignKey("user.id", ondelete="CASCADE", name="fk_wallet_user_id_user"),
            primary_key=True,
        ),
        sa.Column("balance", sa.BigInteger, nullable=False),
        sa.Column("updated_at", sa.DateTime, nullable=False),
        sa.CheckConstraint("balance >= 0", name="ck_wallet_balance_not_negative"),
    )
    op.create_table(
        "ledger_entry",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "user_id",
            sa.Integer,
            sa.ForeignKey("user.id", ondelete="CASCADE", name="fk_ledger_entry_user_id_user"),
            nullable=False,
        ),
        sa.Column("amount", sa.BigInteger, nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("reference", sa.String(191), nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("meta", sa.JSON, nullable=False),
        sa.UniqueConstraint("reference", name="uq_ledger_entry_reference"),
    )
    op.create_index("ix_ledger_entry_user_id", "ledger_entry", ["user_id"])
    op.create_index("ix_ledger_entry_created_at", "ledger_entry", ["created_at"])
    op.create_table(
        "payment",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "user_id",
            sa.Integer,
            sa.ForeignKey("user.id", name="fk_payment_user_id_user"),
            nullable=False,
        ),
        sa.Column("provider", sa.String(64), nullable=False),
        sa.Column("external_id", sa.String(191), nullable=True),
        sa.Column("status", sa.String(24), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("amount_charged", sa.BigInteger, nullable=False),
        sa.Column("amount_credited", sa.BigInteger, nullable=False),
        sa.Column("amount_refunded", sa.BigInteger, nullable=False),
        sa.Column("checkout_url", sa.Text, nullable=False),
        sa.Column("failure_reason", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("updated_at", sa.DateTime, nullable=False),
        sa.Column("settled_at", sa.DateTime, nullable=True),
        sa.Column("meta", sa.JSON, nullable=False),
        sa.UniqueConstraint("provider", "external_id", name="uq_payment_provider"),
    )
    op.create_index("ix_payment_user_id", "payment", ["user_id"])
    op.create_index("ix_payment_status", "payment", ["status"])
    op.create_index("ix_payment_created_at", "payment", ["created_at"])


def downgrade():
    for table in ("payment", "ledger_entry", "wallet"):
        op.drop_table(table)
