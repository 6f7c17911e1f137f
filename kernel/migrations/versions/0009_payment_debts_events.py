"""payments: debts beside the wallet, and the recorded provider events (webhook inbox)

Revision ID: k0009
Revises: k0008
"""

import sqlalchemy as sa
from alembic import op

revision = "k0009"
down_revision = "k0008"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "wallet_debt",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "user_id",
            sa.Integer,
            sa.ForeignKey("user.id", ondelete="CASCADE", name="fk_wallet_debt_user_id_user"),
            nullable=False,
        ),
        sa.Column("amount", sa.BigInteger, nullable=False),
        sa.Column("outstanding", sa.BigInteger, nullable=False),
        sa.Column("forgiven", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("reference", sa.String(191), nullable=False),
        sa.Column(
            "payment_id",
            sa.Integer,
            sa.ForeignKey("payment.id", name="fk_wallet_debt_payment_id_payment"),
            nullable=True,
        ),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("settled_at", sa.DateTime, nullable=True),
        sa.Column("meta", sa.JSON, nullable=False),
        sa.UniqueConstraint("reference", name="uq_wallet_debt_reference"),
        sa.CheckConstraint("amount > 0", name="ck_wallet_debt_amount_positive"),
        sa.CheckConstraint(
            "outstanding >= 0 AND forgiven >= 0 AND outstanding + forgiven <= amount",
            name="ck_wallet_debt_outstanding_in_range",
        ),
    )
    op.create_index("ix_wallet_debt_user_id", "wallet_debt", ["user_id"])
    op.create_table(
        "payment_event",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("provider", sa.String(64), nullable=False),
        sa.Column("dedupe_key", sa.String(191), nullable=False),
        sa.Column("event_id", sa.String(191), nullable=False),
        sa.Column("event_type", sa.String(128), nullable=False),
        sa.Column("verified", sa.Boolean, nullable=False),
        sa.Column("body", sa.LargeBinary, nullable=False),
        sa.Column("headers", sa.JSON, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("applied", sa.Integer, nullable=False),
        sa.Column("error", sa.Text, nullable=False),
        sa.Column("received_at", sa.DateTime, nullable=False),
        sa.Column("claimed_at", sa.DateTime, nullable=True),
        sa.Column("next_attempt_at", sa.DateTime, nullable=True),
        sa.Column("processed_at", sa.DateTime, nullable=True),
        sa.UniqueConstraint("provider", "dedupe_key", name="uq_payment_event_provider"),
    )
    op.create_index("ix_payment_event_status", "payment_event", ["status"])
    op.create_index("ix_payment_event_received_at", "payment_event", ["received_at"])


def downgrade():
    op.drop_table("payment_event")
    op.drop_table("wallet_debt")
