"""invoices: billing profiles, tax rates, numbering, documents, lines, PDFs, deliveries, pending

Revision ID: invoices_0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "invoices_0001"
down_revision = None
branch_labels = None
depends_on = None

# Issued documents, their lines and PDFs can never change: triggers refuse UPDATE and DELETE
# (the ORM refuses them too; the triggers also stop hand-written SQL). Dropping the tables
# (uninstall --purge) is not affected.
IMMUTABLE = ("invoices_document", "invoices_line", "invoices_pdf")
MESSAGE = "issued invoices are immutable: issue a credit note to correct one"


def _triggers_up() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute("CREATE FUNCTION invoices_refuse_change() RETURNS trigger LANGUAGE plpgsql AS "
                   f"$$ BEGIN RAISE EXCEPTION '{MESSAGE}'; END $$")
        for table in IMMUTABLE:
            op.execute(f"CREATE TRIGGER {table}_immutable BEFORE UPDATE OR DELETE ON {table} "
                       "FOR EACH ROW EXECUTE FUNCTION invoices_refuse_change()")
    elif dialect == "sqlite":
        for table in IMMUTABLE:
            for action in ("UPDATE", "DELETE"):
                op.execute(f"CREATE TRIGGER {table}_no_{action.lower()} BEFORE {action} ON {table} "
                           f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END")


def _triggers_down() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        for table in IMMUTABLE:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_immutable ON {table}")
        op.execute("DROP FUNCTION IF EXISTS invoices_refuse_change()")
    elif dialect == "sqlite":
        for table in IMMUTABLE:
            for action in ("update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_no_{action}")


def upgrade():
    op.create_table(
        "invoices_profile",
        sa.Column("user_id", sa.Integer, sa.ForeignKey("user.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("legal_name", sa.String(200), nullable=False),
        sa.Column("company", sa.String(200), nullable=False),
        sa.Column("address", sa.String(500), nullable=False),
        sa.Column("postcode", sa.String(20), nullable=False),
        sa.Column("city", sa.String(100), nullable=False),
        sa.Column("region", sa.String(100), nullable=False),
        sa.Column("country", sa.String(2), nullable=False),
        sa.Column("vat_id", sa.String(24), nullable=False),
        sa.Column("vat_status", sa.String(16), nullable=False),
        sa.Column("vat_checked_by", sa.String(32), nullable=False),
        sa.Column("vat_checked_at", sa.DateTime, nullable=True),
        sa.Column("updated_at", sa.DateTime, nullable=False),
    )
    op.create_table(
        "invoices_tax_rate",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("country", sa.String(2), nullable=False),
        sa.Column("tax_class", sa.String(32), nullable=False),
        sa.Column("rate_bp", sa.Integer, nullable=False),
        sa.Column("label", sa.String(60), nullable=False),
        sa.UniqueConstraint("country", "tax_class"),
    )
    op.create_table(
        "invoices_product_class",
        sa.Column("product_id", sa.Integer, primary_key=True),
        sa.Column("tax_class", sa.String(32), nullable=False),
    )
    op.create_table(
        "invoices_counter",
        sa.Column("series", sa.String(64), primary_key=True),
        sa.Column("last", sa.Integer, nullable=False),
    )
    op.create_table(
        "invoices_document",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False, index=True),
        sa.Column("series", sa.String(64), nullable=False),
        sa.Column("sequence", sa.Integer, nullable=False),
        sa.Column("number", sa.String(64), nullable=False, unique=True),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("user.id"), nullable=False, index=True),
        sa.Column("issued_at", sa.DateTime, nullable=False, index=True),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("net", sa.BigInteger, nullable=False),
        sa.Column("tax", sa.BigInteger, nullable=False),
        sa.Column("gross", sa.BigInteger, nullable=False),
        sa.Column("price_mode", sa.String(8), nullable=False),
        sa.Column("source", sa.String(191), nullable=False, unique=True),
        sa.Column("subject", sa.String(64), nullable=False, index=True),
        sa.Column("original_id", sa.Integer, sa.ForeignKey("invoices_document.id"),
                  nullable=True, index=True),
        sa.Column("buyer_country", sa.String(2), nullable=False, index=True),
        sa.Column("seller", sa.JSON, nullable=False),
        sa.Column("buyer", sa.JSON, nullable=False),
        sa.Column("notes", sa.JSON, nullable=False),
        sa.Column("meta", sa.JSON, nullable=False),
        sa.UniqueConstraint("series", "sequence"),
    )
    op.create_table(
        "invoices_line",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("document_id", sa.Integer, sa.ForeignKey("invoices_document.id"),
                  nullable=False, index=True),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("description", sa.String(300), nullable=False),
        sa.Column("quantity", sa.Integer, nullable=False),
        sa.Column("unit_amount", sa.BigInteger, nullable=False),
        sa.Column("net", sa.BigInteger, nullable=False),
        sa.Column("tax", sa.BigInteger, nullable=False),
        sa.Column("gross", sa.BigInteger, nullable=False),
        sa.Column("rate_bp", sa.Integer, nullable=False),
        sa.Column("tax_rule", sa.String(64), nullable=False),
        sa.Column("tax_country", sa.String(2), nullable=False),
        sa.Column("tax_class", sa.String(32), nullable=False),
    )
    op.create_table(
        "invoices_pdf",
        sa.Column("document_id", sa.Integer, sa.ForeignKey("invoices_document.id"),
                  primary_key=True),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("data", sa.LargeBinary, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )
    op.create_table(
        "invoices_delivery",
        sa.Column("document_id", sa.Integer, sa.ForeignKey("invoices_document.id"),
                  primary_key=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("error", sa.Text, nullable=False),
        sa.Column("updated_at", sa.DateTime, nullable=False),
    )
    op.create_table(
        "invoices_pending",
        sa.Column("source", sa.String(191), primary_key=True),
        sa.Column("event", sa.String(16), nullable=False),
        sa.Column("payload", sa.JSON, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("last_error", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False, index=True),
    )
    _triggers_up()


def downgrade():
    _triggers_down()
    for table in ("invoices_pending", "invoices_delivery", "invoices_pdf", "invoices_line",
                  "invoices_document", "invoices_counter", "invoices_product_class",
                  "invoices_tax_rate", "invoices_profile"):
        op.drop_table(table)
