"""A panel with the announcements plugin (and the store) on: customers on two products and two
nodes (a test provisioner plugin answers the store's node hooks), staff who may write
announcements and staff who may not."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from kernel import hookimpl
from kernel.extensions import db
from kernel.testing import login
from tests.scan_memo import memoized_scans  # noqa: F401 - fixture
from tests.support.conftest import PASSWORD, make_role

PEOPLE = {  # who -> (email, role)
    "alpha": ("alpha@example.com", "customer"),  # a server on product "mc", node rack:1
    "beta": ("beta@example.com", "customer"),  # a server on product "rust", node rack:2
    "nobody": ("nobody@example.com", "customer"),  # no server
    "writer": ("writer@example.com", "writer"),  # admin.access + announcements.manage
    "helper": ("helper@example.com", "support"),  # admin.access only
}


class Racks:
    """Places servers on racks: odd service ids on rack:1, even ones on rack:2."""

    @hookimpl
    def server_nodes(self, services):
        return {s.id: f"rack:{2 - s.id % 2}" for s in services}

    @hookimpl
    def known_nodes(self):
        return [{"id": "rack:1", "label": "Rack one"}, {"id": "rack:2", "label": "Rack two"}]


@dataclass
class Panel:
    get_app: object
    ids: dict
    servers: dict  # who -> service id
    products: dict  # slug -> id

    @property
    def app(self):
        return self.get_app()

    def client_as(self, who: str):
        """A client logged in as ``who``."""
        return login(self.app, PEOPLE[who][0], PASSWORD)

    def announce(self, **fields) -> int:
        """Publish through the admin form as the writer; returns the new id."""
        data = {
            "title": "Hello",
            "body": "Body",
            "level": "info",
            "audience": "everyone",
            "dismissible": "1",
            **fields,
        }
        response = self.client_as("writer").post("/admin/announcements/new", data=data)
        assert response.status_code == 303, response.text
        from builtin_plugins.announcements.models import Announcement

        with self.app.app_context():
            return db.session.scalar(db.select(db.func.max(Announcement.id)))


@pytest.fixture(autouse=True)
def _scans(memoized_scans):  # noqa: F811 - the fixture imported above
    """Bandit reads the same files once per process (tests/scan_memo.py)."""


@pytest.fixture
def pteroca_config():
    return {"RATELIMIT_LOGIN": "10000 per minute"}


@pytest.fixture
def panel(pteroca_instance, enable_plugin, register_test_plugin) -> Panel:
    from builtin_plugins.store.api import Product
    from kernel.accounts.services import create_user

    enable_plugin("announcements", with_dependencies=True)
    register_test_plugin(Racks(), name="racks")
    app = pteroca_instance.app
    make_role(app, "writer", ["admin.access", "announcements.manage"])
    ids = {}
    with app.app_context():
        for who, (email, role) in PEOPLE.items():
            ids[who] = create_user(email, PASSWORD, name=who.title(), role=role, verified=True).id
        from builtin_plugins.store.testing import make_server  # a conftest imports no plugin early

        servers = {
            "alpha": make_server(ids["alpha"], "Alpha box", product_slug="mc").id,
            "beta": make_server(ids["beta"], "Beta box", product_slug="rust").id,
        }
        db.session.remove()
    with app.app_context():
        products = {p.slug: p.id for p in db.session.scalars(db.select(Product))}
    return Panel(lambda: pteroca_instance.app, ids, servers, products)


def banner_titles(page: str) -> list[str]:
    import re

    section = (
        page.split('class="announcements', 1)[1].split("</section>", 1)[0]
        if 'class="announcements' in page
        else ""
    )
    return re.findall(r'class="announcement-title">([^<]*)<', section)
