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
# Spelled out, not formatted: a migration's SQL is reviewed as it runs (the scan refuses
# SQL built with string formatting).
POSTGRES_UP = (
    "CREATE FUNCTION invoices_refuse_change() RETURNS trigger LANGUAGE plpgsql AS "
    "$$ BEGIN RAISE EXCEPTION 'issued invoices are immutable: issue a credit note to correct one'; END $$",
    "CREATE TRIGGER invoices_document_immutable BEFORE UPDATE OR DELETE ON invoices_document "
    "FOR EACH ROW EXECUTE FUNCTION invoices_refuse_change()",
    "CREATE TRIGGER invoices_line_immutable BEFORE UPDATE OR DELETE ON invoices_line "
    "FOR EACH ROW EXECUTE FUNCTION invoices_refuse_change()",
    "CREATE TRIGGER invoices_pdf_immutable BEFORE UPDATE OR DELETE ON invoices_pdf "
    "FOR EACH ROW EXECUTE FUNCTION invoices_refuse_change()",
)

POSTGRES_DOWN = (
    "DROP TRIGGER IF EXISTS invoices_document_immutable ON invoices_document",
    "DROP TRIGGER IF EXISTS invoices_line_immutable ON invoices_line",
    "DROP TRIGGER IF EXISTS invoices_pdf_immutable ON invoices_pdf",
    "DROP FUNCTION IF EXISTS invoices_refuse_change()",
)

SQLITE_UP = (
    "CREATE TRIGGER invoices_document_no_update BEFORE UPDATE ON invoices_document "
    "BEGIN SELECT RAISE(ABORT, 'issued invoices are immutable: issue a credit note to correct one'); END",
    "CREATE TRIGGER invoices_document_no_delete BEFORE DELETE ON invoices_document "
    "BEGIN SELECT RAISE(ABORT, 'issued invoices are immutable: issue a credit note to correct one'); END",
    "CREATE TRIGGER invoices_line_no_update BEFORE UPDATE ON invoices_line "
    "BEGIN SELECT RAISE(ABORT, 'issued invoices are immutable: issue a credit note to correct one'); END",
    "CREATE TRIGGER invoices_line_no_delete BEFORE DELETE ON invoices_line "
    "BEGIN SELECT RAISE(ABORT, 'issued invoices are immutable: issue a credit note to correct one'); END",
    "CREATE TRIGGER invoices_pdf_no_update BEFORE UPDATE ON invoices_pdf "
    "BEGIN SELECT RAISE(ABORT, 'issued invoices are immutable: issue a credit note to correct one'); END",
    "CREATE TRIGGER invoices_pdf_no_delete BEFORE DELETE ON invoices_pdf "
    "BEGIN SELECT RAISE(ABORT, 'issued invoices are immutable: issue a credit note to correct one'); END",
)

SQLITE_DOWN = (
    "DROP TRIGGER IF EXISTS invoices_document_no_update",
    "DROP TRIGGER IF EXISTS invoices_document_no_delete",
    "DROP TRIGGER IF EXISTS invoices_line_no_update",
    "DROP TRIGGER IF EXISTS invoices_line_no_delete",
    "DROP TRIGGER IF EXISTS invoices_pdf_no_update",
    "DROP TRIGGER IF EXISTS invoices_pdf_no_delete",
)


def _run(statements: dict[str, tuple[str, ...]]) -> None:
    for statement in statements.get(op.get_bind().dialect.name, ()):
        op.execute(statement)


def _triggers_up() -> None:
    _run({"postgresql": POSTGRES_UP, "sqlite": SQLITE_UP})


def _triggers_down() -> None:
    _run({"postgresql": POSTGRES_DOWN, "sqlite": SQLITE_DOWN})


def upgrade():
    op.create_table(
        "invoices_profile",
        sa.Column(
            "user_id", sa.Integer, sa.ForeignKey("user.id", ondelete="CASCADE"), primary_key=True
        ),
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
        sa.Column(
            "original_id",
            sa.Integer,
            sa.ForeignKey("invoices_document.id"),
            nullable=True,
            index=True,
        ),
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
        sa.Column(
            "document_id",
            sa.Integer,
            sa.ForeignKey("invoices_document.id"),
            nullable=False,
            index=True,
        ),
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
        sa.Column(
            "document_id", sa.Integer, sa.ForeignKey("invoices_document.id"), primary_key=True
        ),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("data", sa.LargeBinary, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )
    op.create_table(
        "invoices_delivery",
        sa.Column(
            "document_id", sa.Integer, sa.ForeignKey("invoices_document.id"), primary_key=True
        ),
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
    for table in (
        "invoices_pending",
        "invoices_delivery",
        "invoices_pdf",
        "invoices_line",
        "invoices_document",
        "invoices_counter",
        "invoices_product_class",
        "invoices_tax_rate",
        "invoices_profile",
    ):
        op.drop_table(table)
