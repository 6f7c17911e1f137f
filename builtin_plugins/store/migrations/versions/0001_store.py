"""store: catalog, services, purchase tokens, vouchers

Revision ID: st0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "st0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "store_category",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(120), nullable=False),
        sa.Column("slug", sa.String(120), nullable=False, unique=True),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("image_url", sa.String(500), nullable=False),
        sa.Column("priority", sa.Integer, nullable=False),
        sa.Column("featured", sa.Boolean, nullable=False),
    )
    op.create_table(
        "store_product",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("category_id", sa.Integer, sa.ForeignKey("store_category.id"), nullable=True),
        sa.Column("name", sa.String(120), nullable=False),
        sa.Column("slug", sa.String(120), nullable=False, unique=True),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("images", sa.JSON, nullable=False),
        sa.Column("resources", sa.JSON, nullable=False),
        sa.Column("provisioner", sa.String(64), nullable=False),
        sa.Column("provisioner_settings", sa.JSON, nullable=False),
        sa.Column("stock", sa.Integer, nullable=True),
        sa.Column("per_customer_limit", sa.Integer, nullable=True),
        sa.Column("allow_auto_renew", sa.Boolean, nullable=False),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("featured", sa.Boolean, nullable=False),
        sa.Column("priority", sa.Integer, nullable=False),
    )
    op.create_table(
        "store_price_plan",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "product_id",
            sa.Integer,
            sa.ForeignKey("store_product.id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        ),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("label", sa.String(120), nullable=False),
        sa.Column("period_unit", sa.String(8), nullable=False),
        sa.Column("period_count", sa.Integer, nullable=False),
        sa.Column("price", sa.BigInteger, nullable=False),
        sa.Column("min_slots", sa.Integer, nullable=False),
        sa.Column("max_slots", sa.Integer, nullable=False),
        sa.Column("slot_variable", sa.String(64), nullable=False),
    )
    op.create_table(
        "store_service",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("user.id"), nullable=False, index=True),
        sa.Column(
            "product_id", sa.Integer, sa.ForeignKey("store_product.id"), nullable=False, index=True
        ),
        sa.Column("plan_id", sa.Integer, sa.ForeignKey("store_price_plan.id"), nullable=False),
        sa.Column("name", sa.String(120), nullable=False),
        sa.Column("state", sa.String(24), nullable=False, index=True),
        sa.Column("suspension", sa.String(8), nullable=False),
        sa.Column("suspended_at", sa.DateTime, nullable=True),
        sa.Column("expires_at", sa.DateTime, nullable=False, index=True),
        sa.Column("auto_renew", sa.Boolean, nullable=False),
        sa.Column("slots", sa.Integer, nullable=False),
        sa.Column("price", sa.BigInteger, nullable=False),
        sa.Column("charged", sa.BigInteger, nullable=False),
        sa.Column("external_id", sa.String(191), nullable=False),
        sa.Column("options", sa.JSON, nullable=False),
        sa.Column("last_error", sa.Text, nullable=False),
        sa.Column("purchase_token", sa.String(64), nullable=True, unique=True),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("terminated_at", sa.DateTime, nullable=True),
    )
    op.create_index("ix_store_service_due", "store_service", ["state", "expires_at"])
    op.create_table(
        "store_purchase_token",
        sa.Column("token", sa.String(64), primary_key=True),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("user.id"), nullable=False, index=True),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )
    op.create_table(
        "store_voucher",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("code", sa.String(64), nullable=False, unique=True),
        sa.Column("kind", sa.String(24), nullable=False),
        sa.Column("value", sa.BigInteger, nullable=False),
        sa.Column("max_uses", sa.Integer, nullable=True),
        sa.Column("once_per_user", sa.Boolean, nullable=False),
        sa.Column("new_accounts_days", sa.Integer, nullable=True),
        sa.Column("min_amount", sa.BigInteger, nullable=False),
        sa.Column("expires_at", sa.DateTime, nullable=True),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("uses", sa.Integer, nullable=False),
    )
    op.create_table(
        "store_voucher_usage",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "voucher_id", sa.Integer, sa.ForeignKey("store_voucher.id"), nullable=False, index=True
        ),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("user.id"), nullable=False, index=True),
        sa.Column("reference", sa.String(191), nullable=False),
        sa.Column("amount", sa.BigInteger, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.UniqueConstraint("voucher_id", "reference"),
    )


def downgrade():
    for table in (
        "store_voucher_usage",
        "store_voucher",
        "store_purchase_token",
        "store_service",
        "store_price_plan",
        "store_product",
        "store_category",
    ):
        op.drop_table(table)
