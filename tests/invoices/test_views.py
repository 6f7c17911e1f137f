"""The customer's pages: Wallet > Invoices, PDFs only for their owner and staff, the billing
profile form under attack, the profile required before a top-up."""

from __future__ import annotations

import pytest

from builtin_plugins.invoices.models import BillingProfile
from kernel.accounts.services import create_user
from kernel.extensions import db
from kernel.testing import login
from tests.invoices.conftest import configure, customer, documents, topup

PASSWORD = "customer-password-1"


@pytest.fixture
def two_customers(shop, ctx):
    alice = customer("alice@example.fr", country="FR", name="Alice Durand")
    bob = customer("bob@example.de", country="DE", name="Bob Braun", city="Köln")
    topup(alice, 1200)
    topup(bob, 1190)
    ids = {"alice": documents(alice.id)[0].id, "bob": documents(bob.id)[0].id}
    db.session.commit()  # SQLite: no transaction (and write lock) held while the test runs
    return ids


def test_the_wallet_lists_only_my_invoices(shop, two_customers):
    client = login(shop, "alice@example.fr", PASSWORD)
    page = client.get("/wallet/invoices")
    assert page.status_code == 200
    assert "INV-2026-000001" in page.text and "INV-2026-000002" not in page.text
    assert "12.00 EUR" in page.text
    wallet = client.get("/wallet")
    assert 'id="invoices-box"' in wallet.text and "1 document so far." in wallet.text
    assert "/wallet/invoices" in wallet.text and "/wallet/billing?back=wallet" in wallet.text


def test_i_download_my_pdf(shop, two_customers):
    client = login(shop, "alice@example.fr", PASSWORD)
    response = client.get(f"/wallet/invoices/{two_customers['alice']}.pdf")
    assert response.status_code == 200 and response.data.startswith(b"%PDF-")
    assert response.headers["Content-Type"] == "application/pdf"
    assert response.headers["Content-Disposition"] == 'attachment; filename="INV-2026-000001.pdf"'
    assert "no-store" in response.headers["Cache-Control"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"


TAMPERED = [
    "/wallet/invoices/{bob}.pdf",  # another customer's
    "/wallet/invoices/999.pdf",
    "/wallet/invoices/0.pdf",
    "/wallet/invoices/-1.pdf",
    "/wallet/invoices/99999999999999999999999.pdf",
    "/wallet/invoices/2147483648.pdf",
    "/wallet/invoices/{bob}",
    "/wallet/invoices/{bob}.PDF",
    "/wallet/invoices/abc.pdf",
    "/wallet/invoices/{bob}.pdf%00",
    "/wallet/invoices/..%2f{bob}.pdf",
    "/wallet/invoices/1e1.pdf",
    "/wallet/invoices/%20{bob}.pdf",
]


def test_other_peoples_and_tampered_ids_are_not_found(shop, two_customers):
    client = login(shop, "alice@example.fr", PASSWORD)
    for path in TAMPERED:  # one shop for all: each case is one request
        response = client.get(path.format(**two_customers))
        assert response.status_code == 404, path
        assert b"%PDF" not in response.data, path


def test_anonymous_visitors_are_sent_to_log_in(shop, two_customers):
    client = shop.test_client()
    for path in (
        "/wallet/invoices",
        f"/wallet/invoices/{two_customers['alice']}.pdf",
        "/wallet/billing",
    ):
        response = client.get(path)
        assert response.status_code in (302, 401) and b"%PDF" not in response.data


def test_staff_with_the_permission_download_any_pdf_others_do_not(shop, two_customers):
    with shop.app_context():
        create_user("boss@blockhost.test", PASSWORD, name="Boss", role="admin")
        create_user("helper@blockhost.test", PASSWORD, name="Helper", role="support")
        db.session.remove()
    boss = login(shop, "boss@blockhost.test", PASSWORD)
    assert boss.get(f"/wallet/invoices/{two_customers['bob']}.pdf").status_code == 200
    helper = login(shop, "helper@blockhost.test", PASSWORD)  # support: no invoices.view
    assert helper.get(f"/wallet/invoices/{two_customers['bob']}.pdf").status_code == 404


# --- the billing profile -------------------------------------------------------------------

GOOD = {
    "legal_name": "Zoë Ærø 山田",
    "company": "",
    "address": "Rue 1\nBâtiment B",
    "postcode": "1000",
    "city": "Bruxelles",
    "region": "",
    "country": "BE",
    "vat_id": "",
}


@pytest.fixture
def me(shop):
    with shop.app_context():
        create_user("me@example.be", PASSWORD, name="Me")
        db.session.remove()
    return login(shop, "me@example.be", PASSWORD)


def stored_profile(shop):
    with shop.app_context():
        row = db.session.scalar(db.select(BillingProfile))
        values = (
            None
            if row is None
            else {f: getattr(row, f) for f in GOOD} | {"vat_status": row.vat_status}
        )
        db.session.remove()
        return values


def test_i_save_my_billing_details(shop, me):
    assert me.get("/wallet/billing").status_code == 200
    response = me.post("/wallet/billing", data=GOOD)
    assert response.status_code == 303 and response.location.endswith("/wallet/billing")
    assert stored_profile(shop) == {**GOOD, "vat_status": ""}
    back = me.post(
        "/wallet/billing",
        data={**GOOD, "country": "be", "back": "wallet", "vat_id": "be 0403.019.261"},
    )
    assert back.status_code == 303 and back.location.endswith("/wallet")
    assert stored_profile(shop)["vat_id"] == "BE0403019261"
    assert stored_profile(shop)["vat_status"] == "valid"
    assert 'data-vat="valid"' in me.get("/wallet/billing").text


BAD_DETAILS = [
    ({"legal_name": "Eve\x00Admin"}, "legal_name", "control characters"),
    ({"legal_name": "Eve\u202eevE"}, "legal_name", "control characters"),  # bidi override
    ({"city": "Brux\x07elles"}, "city", "control characters"),
    ({"address": "a\x00b"}, "address", "control characters"),
    ({"legal_name": "x" * 201}, "legal_name", "at most 200"),
    ({"postcode": "1" * 21}, "postcode", "at most 20"),
    ({"address": "x" * 100_000}, "address", "at most 500"),
    ({"address": "1\n2\n3\n4\n5"}, "address", "at most 4 lines"),
    ({"legal_name": "   "}, "legal_name", "required"),
    ({"country": "XX"}, "country", "choose a country"),
    ({"country": "EU"}, "country", "choose a country"),
    ({"country": "\x00"}, "country", "control characters"),
    ({"vat_id": "BE0403019262"}, "vat_id", "not a valid VAT id of Belgium"),  # check digit
    ({"vat_id": "FR40303265045"}, "vat_id", "starts with FR, but the country is Belgium"),
    ({"vat_id": "BE'; DROP TABLE user;--"}, "vat_id", "letters and digits only"),
    ({"vat_id": "<script>alert(1)</script>"}, "vat_id", "letters and digits only"),
    ({"vat_id": "BE" + "1" * 60}, "vat_id", "at most 40"),
    ({"vat_id": "BE０４０３０１９２６２"}, "vat_id", "not a valid VAT id"),  # full-width
    ({"country": "GB", "vat_id": "GB123456789"}, "vat_id", "not a valid tax id of United Kingdom"),
]


def gate_refuses(value: str) -> bool:
    """The request gate (kernel.inputs) refuses control characters in every field first."""
    from kernel.inputs import InputError, check_text

    try:
        check_text(value, "x")
    except InputError:
        return True
    return False


def test_bad_billing_details_are_refused_field_by_field(shop, me):
    me.post("/wallet/billing", data=GOOD)
    for changes, field, message in BAD_DETAILS:
        response = me.post("/wallet/billing", data={**GOOD, **changes})
        assert response.status_code == 400, changes
        if any(gate_refuses(value) for value in changes.values()):  # for every form
            assert f"“{field}” contains a control character" in response.text, changes
        else:
            assert f'data-error="{field}"' in response.text and message in response.text, changes
        assert stored_profile(shop) == {**GOOD, "vat_status": ""}  # the saved one untouched


def test_a_form_missing_every_field_is_a_400_not_a_500(shop, me):
    response = me.post("/wallet/billing", data={})
    assert response.status_code == 400 and stored_profile(shop) is None
    response = me.post("/wallet/billing", data={"legal_name": ["a", "b"], "zzz": "1"})
    assert response.status_code == 400


# --- a profile before the first top-up -------------------------------------------------------


def test_the_shop_can_require_billing_details_before_a_top_up(shop, me):
    with shop.app_context():
        configure(require_profile=True)
        db.session.remove()
    wallet = me.get("/wallet")
    assert "We need your billing details for the invoice first." in wallet.text
    refused = me.post("/wallet/topup", data={"amount": "10.00", "provider": "testpay"})
    assert refused.status_code == 400
    assert "Please add your billing details" in refused.text
    me.post("/wallet/billing", data=GOOD)
    accepted = me.post("/wallet/topup", data={"amount": "10.00", "provider": "testpay"})
    assert accepted.status_code == 303 and "pay.test" in accepted.location


def test_net_prices_are_announced_on_the_top_up_form(shop, me):
    with shop.app_context():
        configure(prices="net")
        from builtin_plugins.invoices import taxes

        taxes.set_rate("BE", "standard", "21", "TVA")
        db.session.remove()
    me.post("/wallet/billing", data=GOOD)
    assert "21 % tax is added at checkout" in me.get("/wallet").text
