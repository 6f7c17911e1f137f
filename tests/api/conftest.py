"""Fixtures of the REST API tests: tokens made through the service, as the account page does."""

from __future__ import annotations

import pytest


@pytest.fixture
def pteroca_config():
    return {"RATELIMIT_API": "10000 per minute"}


@pytest.fixture
def app(pteroca_instance):
    """The public fixture stack's app (tests/conftest.py's ``app`` is the older one)."""
    return pteroca_instance.app


@pytest.fixture
def client(pteroca_instance):
    return pteroca_instance.client()


@pytest.fixture
def make_token(pteroca_instance):
    """``make_token(user, scopes=[...], days=None, kind="personal")`` -> the secret."""

    def make(user, scopes=None, *, days=None, kind="personal", name="test"):
        from kernel.accounts.models import User
        from kernel.extensions import db
        from kernel.rest.scopes import grantable
        from kernel.rest.tokens import create

        with pteroca_instance.app.app_context():
            owner = db.session.get(User, user.id)
            chosen = grantable(owner) if scopes is None else scopes
            _token, secret = create(owner, name=name, scopes=chosen, days=days, kind=kind)
            db.session.remove()
        return secret

    return make


def bearer(secret: str) -> dict:
    return {"Authorization": f"Bearer {secret}"}


@pytest.fixture
def store(pteroca_instance):
    """The store enabled, one product (manual provisioner) with a 1000-unit plan: its ids."""
    pteroca_instance.enable("store", with_dependencies=True)
    from builtin_plugins.store.models import PricePlan, Product
    from kernel.extensions import db

    with pteroca_instance.app.app_context():
        product = Product(
            name="Small",
            slug="small",
            provisioner="manual",
            description="",
            images=[],
            resources={"memory_mb": 1024},
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
        ids = {"product_id": product.id, "plan_id": product.plans[0].id}
        db.session.remove()
    return ids


@pytest.fixture
def fund(pteroca_instance):
    """``fund(user, amount)``: credit the wallet through the ledger."""

    def credit(user, amount):
        from kernel.extensions import db
        from kernel.payments import ledger

        with pteroca_instance.app.app_context():
            ledger.credit(user.id, amount, "adjustment", f"seed:{user.id}:{amount}")
            db.session.remove()

    return credit
