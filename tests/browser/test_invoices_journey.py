"""A customer fills in their billing details, tops up through the Stripe fake and downloads the
invoice PDF; the admin exports the month. The PDF's first page is saved as a screenshot
(``pdftoppm``) with the other screenshots of the run."""

from __future__ import annotations

import csv
import io
import re
import subprocess
from pathlib import Path

import pytest

from kernel.testing import build_app
from simulators.stripe import stripe_server  # noqa: F401 - fixture
from tests.browser.test_stripe_topup import arrive
from tests.browser_fixtures import SCREENSHOTS
from tests.fakes.osv_server import osv_server  # noqa: F401 - fixture
from tests.helpers import PASSWORD, make_user
from tests.stripe.conftest import configure, fake_settings


@pytest.fixture
def live_app(instance, plugins_dir, osv_server):  # noqa: F811 - overrides the browser fixture
    return build_app(
        instance,
        WTF_CSRF_ENABLED=True,
        OSV_URL=osv_server.url,
        MAIL_URL=f"file://{instance}/mail.log",
    )


@pytest.fixture
def app(live_app):
    return live_app


def shop_setup(app) -> None:
    from builtin_plugins.invoices import taxes
    from kernel import set_settings, site_settings
    from kernel.extensions import db

    with app.app_context():
        site_settings.set_many({"currency": "EUR", "site_name": "Blockhost"})
        set_settings(
            "invoices",
            {
                "seller_name": "Blockhost GmbH",
                "seller_address": "Hauptstraße 5\n10115 Berlin",
                "seller_country": "DE",
                "seller_vat_id": "DE136695976",
                "seller_email": "billing@blockhost.test",
                "require_profile": True,
            },
        )
        taxes.load_eu_standard_rates()
        make_user("camille@example.fr", name="Camille")
        make_user("boss@blockhost.test", name="Boss", role="admin")
        db.session.remove()


def log_in(page, base: str, email: str) -> None:
    page.goto(f"{base}/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/dashboard")


def pdf_text(path: Path) -> str:
    return subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, check=True, timeout=60
    ).stdout.decode()


def test_billing_details_top_up_invoice_pdf_and_the_months_export(
    live_app,
    live_server,
    cli,
    page,
    screenshot,
    stripe_server,  # noqa: F811
    tmp_path,
):
    for args in (
        ("plugin", "enable", "stripe_payments"),
        ("plugin", "enable", "invoices", "--with-dependencies", "--yes"),
    ):
        result = cli(*args)
        assert result.exit_code == 0, result.output
    configure(live_app, **fake_settings(stripe_server))
    stripe_server.webhook_url = f"{live_server}/payments/stripe/webhook"
    shop_setup(live_app)

    # the customer: billing details first (the shop requires them), from the wallet
    log_in(page, live_server, "camille@example.fr")
    page.goto(f"{live_server}/wallet")
    assert "We need your billing details for the invoice first." in page.inner_text("body")
    page.locator("#invoices-box").get_by_role("link", name="Billing details").click()
    arrive(page, f"{live_server}/wallet/billing*")
    page.get_by_label("Full legal name").fill("Camille Martin")
    page.get_by_label("Street address").fill("12 rue de la Paix")
    page.get_by_label("Postcode").fill("69001")
    page.get_by_label("City").fill("Lyon")
    page.get_by_label("Country").select_option("FR")
    page.get_by_label("VAT id").fill("FR40303265046")  # a typo in the check digits
    page.get_by_role("button", name="Save billing details").click()
    assert "not a valid VAT id of France" in page.inner_text("[data-error=vat_id]")
    screenshot("invoices_billing_refused")
    page.js_errors.clear()  # the browser logs the refusal's 400 as a failed load: expected
    page.get_by_label("VAT id").fill("")
    page.get_by_role("button", name="Save billing details").click()
    arrive(page, f"{live_server}/wallet")
    assert "Your billing details were saved" in page.inner_text("body")

    # the top-up, paid at the Stripe fake
    page.fill("input[name=amount]", "12.00")
    page.get_by_label("Card (Stripe)").check()
    page.get_by_role("button", name="Continue to payment").click()
    arrive(page, f"{stripe_server.url}/pay/*")
    page.get_by_role("button", name="Pay").click()
    arrive(page, f"{live_server}/wallet/return/*")
    assert "Payment received" in page.inner_text("body")

    # Wallet > Invoices, and the PDF
    page.goto(f"{live_server}/wallet")
    page.locator("#invoices-box").get_by_role("link", name="Invoices").click()
    arrive(page, f"{live_server}/wallet/invoices")
    row = page.locator("#invoices tbody tr").first
    number = row.locator("td").first.inner_text()
    assert re.fullmatch(r"INV-\d{4}-000001", number) and "12.00 EUR" in row.inner_text()
    screenshot("invoices_wallet_list")
    with page.expect_download() as download_info:
        row.get_by_role("link", name="PDF").click()
    download = download_info.value
    assert download.suggested_filename == f"{number}.pdf"
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    text = re.sub(r"\s+", " ", pdf_text(saved))
    for expected in (
        "Blockhost GmbH",
        "Camille Martin",
        "69001 Lyon",
        f"Invoice {number}",
        "20 %",
        "Net total 10.00 EUR",
        "2.00 EUR",
        "Total 12.00 EUR",
    ):
        assert expected in text, expected
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            "pdftoppm",
            "-png",
            "-r",
            "80",
            "-f",
            "1",
            "-l",
            "1",
            "-singlefile",
            str(saved),
            str(SCREENSHOTS / "invoice_pdf_first_page"),
        ],
        check=True,
        timeout=60,
    )
    assert (SCREENSHOTS / "invoice_pdf_first_page.png").stat().st_size > 10_000
    assert page.js_errors == []

    # the admin exports the month for the accountant
    page.context.clear_cookies()
    log_in(page, live_server, "boss@blockhost.test")
    page.goto(f"{live_server}/admin/invoices/")
    assert number in page.inner_text("#documents")
    month = number.split("-")[1] + "-" + _issued_month(live_app)
    page.fill("#export-month", month)
    with page.expect_download() as download_info:
        page.locator("#export").get_by_role("button", name="CSV", exact=True).click()
    csv_file = tmp_path / "export.csv"
    download_info.value.save_as(csv_file)
    rows = list(csv.DictReader(io.StringIO(csv_file.read_text(encoding="utf-8-sig"))))
    assert [
        (
            r["number"],
            r["buyer_name"],
            r["buyer_country"],
            r["rate_percent"],
            r["net"],
            r["tax"],
            r["gross"],
        )
        for r in rows
    ] == [(number, "Camille Martin", "FR", "20.00", "10.00", "2.00", "12.00")]
    screenshot("invoices_admin_documents")


def _issued_month(app) -> str:
    from builtin_plugins.invoices.models import Document
    from kernel.extensions import db

    with app.app_context():
        issued = db.session.scalar(db.select(Document.issued_at))
        db.session.remove()
    return f"{issued.month:02d}"
