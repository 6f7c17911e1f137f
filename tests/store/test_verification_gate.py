"""With email verification required, every action that spends or brings in money refuses an
unverified account (403, a message naming the action, a resend button; nothing bought or
charged) and lets a verified one through. One test per gated action, both ways."""

from __future__ import annotations

import pytest

from builtin_plugins.store.testing import buy
from kernel.accounts.models import User
from kernel.extensions import db
from kernel.payments import ledger
from kernel.payments.models import Payment
from kernel.testing import make_customer
from tests.store.conftest import recorder_product as make_product
from tests.store.test_views import login
from tests.store.test_views_wallet import store_models, wallet_app  # noqa: F401 - fixture

UNVERIFIED, VERIFIED = "buyer@example.com", "ok@example.com"


@pytest.fixture
def gated(wallet_app, recorder):  # noqa: F811 - the imported fixture
    """Verification required; an unverified and a verified customer, each with money and a
    server; two products of the same provisioner (for a plan change)."""
    from kernel import site_settings

    with wallet_app.app_context():
        site_settings.set_many({"email_verification": "required"})
        small, big = make_product("mc-small", price=1000), make_product("mc-big", price=2000)
        unverified = db.session.scalar(db.select(User).where(User.email == UNVERIFIED))
        verified = make_customer(VERIFIED)
        verified.email_verified_at = verified.created_at
        db.session.commit()
        ids = {}
        for user in (unverified, verified):
            ledger.credit(user.id, 10_000, "adjustment", f"seed-gate:{user.email}")
            unverified.email_verified_at = unverified.created_at  # buy as a verified customer
            service = buy(user, small, name=f"srv-{user.id}")
            unverified.email_verified_at = None
            db.session.commit()
            ids[user.email] = {
                "user": user.id,
                "service": service.id,
                "expires": service.expires_at.isoformat(),
            }
        ids["products"] = {"small": small.id, "big": big.id}
    return wallet_app, ids


def money_state(app, user_id: int) -> tuple:
    """Everything a refused action must leave alone: balance, servers, payments, expiry."""
    with app.app_context():
        models = store_models()
        services = db.session.scalars(
            db.select(models.Service).where(models.Service.user_id == user_id)
        ).all()
        return (
            ledger.balance(user_id),
            len(services),
            tuple((s.expires_at, s.product_id) for s in services),
            db.session.scalar(
                db.select(db.func.count(Payment.id)).where(Payment.user_id == user_id)
            ),
        )


def assert_refused(response, action: str) -> None:
    assert response.status_code == 403, response.text[:400]
    assert "Confirm your email address first" in response.text
    assert action in response.text
    assert "Nothing was bought or charged" in response.text
    assert 'action="/account/verify/resend"' in response.text


def _checkout(client, ids):
    from builtin_plugins.store import services

    with client.application.app_context():
        user = db.session.get(User, ids["user"])
        token = services.new_purchase_token(user)
        plan = store_models().Product.query.filter_by(slug="mc-small").one().plans[0].id
    return client.post(
        "/store/product/mc-small/checkout", data={"token": token, "plan": plan, "name": "Another"}
    )


def _renew(client, ids):
    return client.post(
        f"/servers/{ids['service']}/renew", data={"expires": ids["expires"], "action": "pay"}
    )


def _change_plan(client, ids):
    products = ids["products"]
    return client.post(
        f"/servers/{ids['service']}/change-plan",
        data={"product_id": products["big"], "from_product": products["small"]},
    )


def _topup(client, ids):
    return client.post("/wallet/topup", data={"amount": "10.00", "provider": "testpay"})


def _redeem(client, ids):
    return client.post("/store/redeem", data={"code": "GIFT5"})


ACTIONS = [
    ("checkout", _checkout, "buy a server"),
    ("renew", _renew, "renew a server"),
    ("change_plan", _change_plan, "change a server"),
    ("topup", _topup, "top up your wallet"),
    ("voucher_redeem", _redeem, "redeem a voucher"),
]


@pytest.mark.parametrize(("name", "act", "words"), ACTIONS, ids=[a[0] for a in ACTIONS])
def test_unverified_account_is_refused_and_nothing_changes(gated, name, act, words):
    app, ids = gated
    mine = {**ids[UNVERIFIED], "products": ids["products"]}
    before = money_state(app, mine["user"])
    assert_refused(act(login(app, UNVERIFIED), mine), words)
    assert money_state(app, mine["user"]) == before


@pytest.mark.parametrize(("name", "act", "words"), ACTIONS, ids=[a[0] for a in ACTIONS])
def test_verified_account_passes(gated, name, act, words):
    app, ids = gated
    mine = {**ids[VERIFIED], "products": ids["products"]}
    before = money_state(app, mine["user"])
    response = act(login(app, VERIFIED), mine)
    assert response.status_code == 303, response.text[:400]
    assert money_state(app, mine["user"]) != before  # bought, renewed, changed or credited


def test_checkout_page_itself_says_why_before_the_form(gated):
    app, _ids = gated
    page = login(app, UNVERIFIED).get("/store/product/mc-small/checkout")
    assert_refused(page, "buy a server")
    assert 'name="token"' not in page.text


def test_json_callers_get_a_json_refusal(gated):
    app, ids = gated
    client = login(app, UNVERIFIED)
    response = client.post(
        "/wallet/topup", json={"amount": "10.00"}, headers={"Accept": "application/json"}
    )
    assert response.status_code == 403
    assert response.json["verify_email"] is True and "top up your wallet" in response.json["error"]


def test_continue_payment_is_gated_too(gated):
    app, ids = gated
    response = login(app, UNVERIFIED).post("/wallet/payments/1/continue")
    assert_refused(response, "top up your wallet")


def test_verifying_opens_the_gate(gated):
    app, ids = gated
    client = login(app, UNVERIFIED)
    assert _redeem(client, ids[UNVERIFIED]).status_code == 403
    with app.app_context():
        user = db.session.get(User, ids[UNVERIFIED]["user"])
        user.email_verified_at = user.created_at
        db.session.commit()
    assert _redeem(client, ids[UNVERIFIED]).status_code == 303


@pytest.mark.parametrize("mode", ["optional", "disabled"])
def test_other_modes_do_not_gate(gated, mode):
    from kernel import site_settings

    app, ids = gated
    with app.app_context():
        site_settings.set_many({"email_verification": mode})
    assert _redeem(login(app, UNVERIFIED), ids[UNVERIFIED]).status_code == 303


def test_banner_names_the_gated_actions_and_links_to_resend(gated):
    app, _ids = gated
    page = login(app, UNVERIFIED).get("/dashboard").text
    assert "you cannot buy, renew or change servers, top up your wallet or redeem" in page
    assert 'action="/account/verify/resend"' in page and "Resend the confirmation email" in page


def test_plugins_reach_the_gate_through_the_public_api(gated):
    import kernel

    app, ids = gated
    with app.test_request_context():
        unverified = db.session.get(User, ids[UNVERIFIED]["user"])
        verified = db.session.get(User, ids[VERIFIED]["user"])
        kernel.gate_action("myplugin_order", "order a thing")
        assert "order a thing" in kernel.verification_refusal(unverified, "myplugin_order")
        assert kernel.verification_refusal(verified, "myplugin_order") is None
        assert callable(kernel.verified_required("checkout"))
