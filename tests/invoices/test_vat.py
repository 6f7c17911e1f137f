"""VAT ids: offline checks always, the online check (VIES, through the vat_id_check hook)
when it is on: a registered id is reverse charged, an unknown one refused, and one VIES could
not answer for pays VAT until the retry task confirms it."""

from __future__ import annotations

import pytest

from builtin_plugins.invoices import config, profiles, tasks, vat
from builtin_plugins.invoices.models import BillingProfile
from kernel.extensions import db
from tests.fakes.vies import FakeVies
from tests.invoices.conftest import FR_BUSINESS_VAT, configure, customer, documents, topup


@pytest.fixture
def vies():
    with FakeVies() as fake:
        yield fake


@pytest.fixture
def online(shop, ctx, vies):
    configure(online_vat_check=True, vies_url=vies.url)
    return vies


@pytest.mark.parametrize(
    ("text", "country", "compact"),
    [
        ("FR 40 303 265 045", "FR", "FR40303265045"),
        ("40303265045", "FR", "FR40303265045"),
        ("de136695976", "DE", "DE136695976"),
        ("GR094014201", "GR", "EL094014201"),
        ("094014201", "GR", "EL094014201"),
        ("ATU13585627", "AT", "ATU13585627"),
        ("CHE-116.281.710 MWST", "CH", "CHE116281710MWST"),
        ("", "FR", ""),
        ("12-3456789", "US", "123456789"),  # no stdnum rules for US ids: kept, printed as given
    ],
)
def test_ids_are_normalised(text, country, compact):
    assert vat.normalise(text, country) == compact


@pytest.mark.parametrize(
    ("text", "country", "message"),
    [
        ("FR40303265046", "FR", "check digits"),
        ("DE136695976", "FR", "starts with DE"),
        ("EL094014201", "CY", "starts with EL"),
        ("XX123", "FR", "starts with XX"),
        ("FR 40303265045 ; --", "FR", "letters and digits"),
        ("F", "FR", "letters and digits"),
        ("CHE-116.281.711", "CH", "not a valid tax id of Switzerland"),
    ],
)
def test_forged_ids_are_refused_offline(text, country, message):
    with pytest.raises(vat.VatError, match=message):
        vat.normalise(text, country)


def test_a_registered_id_is_confirmed_online_and_reverse_charged(online):
    online.register(FR_BUSINESS_VAT, "ACME SARL")
    user = customer("achats@acme.fr", country="FR", company="ACME", vat_id=FR_BUSINESS_VAT)
    profile = db.session.get(BillingProfile, user.id)
    assert (profile.vat_status, profile.vat_checked_by) == ("valid", "online")
    assert online.checked == [FR_BUSINESS_VAT]
    topup(user, 5000)
    assert documents(user.id)[0].lines[0].tax_rule == "reverse-charge"


def test_an_id_vies_does_not_know_is_refused(online):
    with pytest.raises(profiles.ProfileError) as refused:
        customer("fake@acme.fr", country="FR", company="Fake", vat_id=FR_BUSINESS_VAT)
    assert "does not know the VAT id FR40303265045" in refused.value.errors["vat_id"]
    assert db.session.scalars(db.select(BillingProfile)).all() == []


@pytest.mark.parametrize("outage", ["ms_unavailable", "http_500", "unreachable"])
def test_when_vies_cannot_answer_the_id_pays_vat_until_confirmed(online, outage):
    if outage == "ms_unavailable":
        online.down.add("FR")
    elif outage == "http_500":
        online.status = 500
    else:
        configure(vies_url="http://127.0.0.1:9")
    user = customer("achats@acme.fr", country="FR", company="ACME", vat_id=FR_BUSINESS_VAT)
    assert db.session.get(BillingProfile, user.id).vat_status == "unverified"
    topup(user, 1200)
    assert documents(user.id)[0].lines[0].tax_rule == "eu-destination"  # 20 % French VAT
    # VIES is back and knows the id: the retry task confirms it; later invoices are reverse charged
    online.down.clear()
    online.status = 200
    configure(vies_url=online.url)
    online.register(FR_BUSINESS_VAT, "ACME SARL")
    assert tasks.retry()["vat_confirmed"] == 1
    assert db.session.get(BillingProfile, user.id).vat_status == "valid"
    topup(user, 1200)
    assert documents(user.id)[1].lines[0].tax_rule == "reverse-charge"


def test_offline_only_a_valid_checksum_is_enough(shop, ctx, vies):
    user = customer("achats@acme.fr", country="FR", company="ACME", vat_id=FR_BUSINESS_VAT)
    profile = db.session.get(BillingProfile, user.id)
    assert (profile.vat_status, profile.vat_checked_by) == ("valid", "offline")
    assert vies.checked == []


def test_ids_outside_the_eu_are_never_sent_to_vies(online):
    customer("ch@example.ch", country="CH", company="Swiss AG", vat_id="CHE-116.281.710 MWST")
    assert online.checked == []


def test_an_answer_that_is_not_viess_shape_counts_as_no_answer(online, monkeypatch):
    import httpx

    class Weird:
        status_code = 200

        def json(self):
            return {"valid": "yes"}

    monkeypatch.setattr(httpx, "post", lambda *a, **k: Weird())
    assert vat.vies_check(config.load(), "FR", "40303265045") is None
