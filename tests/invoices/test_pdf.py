"""The PDF: what it says, rendered once from the theme, no outside resources, emailed."""

from __future__ import annotations

import http.server
import re
import threading
from pathlib import Path

import pytest

from builtin_plugins.invoices import pdf
from builtin_plugins.invoices.models import Pdf
from kernel import site_settings
from kernel.extensions import db
from kernel.testing import rebuild
from tests.invoices.conftest import customer, documents, mails, pdf_text, refund_payment, topup


def squeeze(text: str) -> str:
    return re.sub(r"\s+", " ", text)


def test_the_pdf_names_seller_buyer_number_date_lines_rates_and_totals(
    shop, ctx, tmp_path, register_lines
):
    register_lines([{"description": "Priority support", "amount": 500, "tax_class": "reduced"}])
    user = customer("achats@acme.fr", country="FR", company="ACME SARL", name="Claire Dubois")
    topup(user, 1200)
    [doc] = documents(user.id)
    text = pdf_text(pdf.stored(doc), tmp_path)
    flat = squeeze(text)
    for expected in (
        "Blockhost GmbH",
        "Hauptstraße 5",
        "10115 Berlin",
        "Germany",  # seller
        "VAT id: DE136695976",
        "billing@blockhost.test",
        "ACME SARL",
        "Claire Dubois",
        "12 rue de la Paix",
        "69001 Lyon",  # buyer
        "France",
        "achats@acme.fr",
        "Invoice INV-2026-000001",
        "Date of issue 2026-03-14",  # number and date
        "Wallet top-up (payment #1, testpay)",
        "Priority support",  # lines
        "20 %",
        "5.5 %",  # rates
        "Net total 14.74 EUR",  # 10.00 + 4.74 (5.00 incl. 5.5 % = 4.74 + 0.26)
        "Tax 20 % (EU, customer's country) on 10.00 EUR 2.00 EUR",
        "Tax 5.5 % (EU, customer's country) on 4.74 EUR 0.26 EUR",
        "Total 17.00 EUR",
        "Paid: 12.00 EUR (testpay)",
        "IBAN DE02 1203 0000 0000 2020 51",
    ):  # footer
        assert expected in flat, f"{expected!r} not in:\n{text}"
    assert (doc.net, doc.tax, doc.gross) == (1474, 226, 1700)


def test_a_credit_notes_pdf_names_the_invoice_it_credits(shop, ctx, tmp_path):
    user = customer("camille@example.fr", country="FR")
    refund_payment(topup(user, 1200), 600)
    text = squeeze(pdf_text(pdf.stored(documents(user.id)[1]), tmp_path))
    assert "Credit note CN-2026-000001" in text
    assert "Credits INV-2026-000001 of 2026-03-14" in text
    assert "Total -6.00 EUR" in text


def test_the_pdf_is_stored_once_and_served_as_stored(shop, tmp_path):
    with shop.test_request_context():
        user = customer("camille@example.fr", country="FR")
        topup(user, 1200)
        [doc] = documents(user.id)
        first, user_id, doc_id = pdf.stored(doc), user.id, doc.id
        assert first.startswith(b"%PDF-")
        assert db.session.scalar(db.select(db.func.count()).select_from(Pdf)) == 1
        db.session.remove()
    # a new theme restyles documents issued from now on; the stored one stays as it was sent
    make_theme(
        shop,
        "brand",
        {
            "panel/invoices/document.html": "<html><body><h1>BRANDED {{ doc.number }}</h1></body></html>"
        },
    )
    app = rebuild(shop)
    with app.test_request_context():
        from builtin_plugins.invoices.models import Document
        from kernel.accounts.models import User

        assert pdf.stored(db.session.get(Document, doc_id)) == first
        topup(db.session.get(User, user_id), 1000)
        second = documents(user_id)[1]
        assert "BRANDED INV-2026-000002" in pdf_text(pdf.stored(second), tmp_path)
        db.session.remove()


def make_theme(app, name: str, files: dict[str, str]) -> Path:
    root = Path(app.config["THEMES_DIR"]) / name
    root.mkdir(parents=True)
    (root / "theme.toml").write_text(
        f'name = "{name}"\nversion = "1.0"\ncontexts = ["panel", "landing", "email"]\n'
    )
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    with app.app_context():
        site_settings.set_many({"active_theme": name})
        db.session.remove()
    return root


@pytest.fixture
def listener():
    """A local HTTP server that records every request made to it."""
    hits: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            hits.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "text/css")
            self.end_headers()
            self.wfile.write(b"body { color: red }")

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    server.hits = hits
    server.url = f"http://127.0.0.1:{server.server_port}"
    yield server
    server.shutdown()


def test_a_hostile_theme_cannot_make_the_pdf_fetch_urls_or_read_files(shop, tmp_path, listener):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-CONTENT")
    hostile = (
        "<html><head><link rel='stylesheet' href='" + listener.url + "/steal.css'>"
        "<style>@import url('" + listener.url + "/import.css');</style></head><body>"
        "<img src='" + listener.url + "/pixel.png'>"
        "<img src='file://" + str(secret) + "'>"
        "<object data='file://" + str(secret) + "'></object>"
        "<iframe src='file://" + str(secret) + "'></iframe>"
        "<p>EVIL THEME {{ doc.number }}</p></body></html>"
    )
    make_theme(shop, "evil", {"panel/invoices/document.html": hostile})
    app = rebuild(shop)
    with app.test_request_context():
        user = customer("camille@example.fr", country="FR")
        topup(user, 1200)
        text = pdf_text(pdf.stored(documents(user.id)[0]), tmp_path)
        db.session.remove()
    assert "EVIL THEME INV-2026-000001" in text and "TOP-SECRET" not in text
    assert listener.hits == []


def test_what_a_customer_typed_is_printed_as_text_not_markup(shop, ctx, tmp_path, listener):
    name = (
        f"<b>Bold</b><img src='{listener.url}/x.png'><link rel=stylesheet href='{listener.url}/y'>"
    )
    user = customer("mallory@example.fr", country="FR", name=name[:200])
    topup(user, 1200)
    text = squeeze(pdf_text(pdf.stored(documents(user.id)[0]), tmp_path))
    assert "<b>Bold</b><img src=" in text
    assert listener.hits == []


def test_the_document_is_emailed_with_its_pdf(shop, ctx):
    user = customer("camille@example.fr", country="FR")
    topup(user, 1200)
    log = mails(shop)
    assert "Subject: Invoice INV-2026-000001" in log and "To: camille@example.fr" in log
    assert 'filename="INV-2026-000001.pdf"' in log and "Content-Type: application/pdf" in log
    assert "thank you for your payment of 12.00 EUR" in log
    from builtin_plugins.invoices.models import Delivery

    assert db.session.get(Delivery, documents()[0].id).status == "sent"


def test_with_email_off_nothing_is_sent_and_the_pdf_waits_for_its_download(shop, ctx):
    from tests.invoices.conftest import configure

    configure(email_documents=False)
    user = customer("camille@example.fr", country="FR")
    topup(user, 1200)
    assert "INV-2026-000001" not in mails(shop)
    assert db.session.scalar(db.select(db.func.count()).select_from(Pdf)) == 0
