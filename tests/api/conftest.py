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
