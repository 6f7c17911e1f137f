from __future__ import annotations

import pytest

from kernel.accounts.services import create_user
from kernel.testing import login

PASSWORD = "admin-test-password-1"


@pytest.fixture
def users(app):
    with app.app_context():
        for role in ("admin", "support", "customer"):
            create_user(f"{role}@example.com", PASSWORD, name=role.capitalize(), role=role)
    return {role: f"{role}@example.com" for role in ("admin", "support", "customer")}


@pytest.fixture
def as_role(app, users):
    """A test client logged in with the given role."""

    def make(role: str):
        client = app.test_client()
        login(client, users[role], PASSWORD)
        return client

    return make


@pytest.fixture
def admin(as_role):
    return as_role("admin")
