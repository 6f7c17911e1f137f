"""Shared setup of the Pelican server-tab tests: a bought Paper server per customer on the
Pelican simulator, logged-in clients.

Star-import the fixtures into a test module (``from tests.pelican_plugin.tabs_helpers import
*``); they build on ``pel_app``, ``sim`` and ``panel`` from tests/pelican_plugin/conftest.py.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest

from builtin_plugins.store.testing import buy
from kernel.extensions import db
from kernel.testing import TEST_PASSWORD, login
from tests.pelican_plugin.conftest import customer, paper_settings, pelican_product

__all__ = ["alice", "owner", "paper_product"]  # the fixtures, for a star import

PASSWORD = TEST_PASSWORD
PREFIX = "/plugins/pelican/servers"


@dataclass
class Bought:
    service_id: int
    identifier: str
    email: str
    user_id: int


def tab_url(service_id: int, path: str = "console") -> str:
    return f"{PREFIX}/{service_id}/{path}".rstrip("/")


def buy_server(app, product_id: int, email: str, name: str = "My server") -> Bought:
    from builtin_plugins.pelican import links
    from builtin_plugins.store.models import Product

    with app.app_context():
        user = customer(email=email, name=name.title())
        service = buy(user, db.session.get(Product, product_id), name=name)
        assert service.state == "active", service.last_error
        found = Bought(service.id, links.server_link(service.id).identifier, email, user.id)
        db.session.remove()
    return found


def flashes(html: str) -> str:
    """The text of the page's flash messages and in-page alerts."""
    found = re.findall(r'<div class="alert[^"]*"[^>]*>(.*?)</div>', html, re.S)
    return " ".join(re.sub(r"<[^>]+>|\s+", " ", f).strip() for f in found)


@pytest.fixture
def paper_product(pel_app, panel) -> int:
    """A Paper plan: 2 backups, 1 database, 2 ports; MINECRAFT_VERSION editable,
    BUILD_NUMBER visible, MAX_PLAYERS the slot variable, the rest hidden."""
    with pel_app.app_context():
        product_id = pelican_product(paper_settings(panel)).id
        db.session.remove()
    return product_id


@pytest.fixture
def owner(pel_app, paper_product) -> Bought:
    return buy_server(pel_app, paper_product, "alice@example.com", "alice survival")


@pytest.fixture
def alice(pel_app, owner):
    return login(pel_app, owner.email, PASSWORD)


def sim_server(sim, identifier: str):
    """The simulated server with this identifier, once due steps (installs, power) happened."""
    with sim.state.lock:
        sim.state.tick()
        found = sim.state.server_by_ref(identifier)
        assert found is not None, identifier
        return found
