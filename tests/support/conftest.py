"""A panel with the support plugin (and the store) on, customers with servers, and staff with
and without the ``support.tickets`` permission."""

from __future__ import annotations

import io
from dataclasses import dataclass

import pytest

from kernel.extensions import db
from kernel.testing import login
from tests.scan_memo import memoized_scans  # noqa: F401 - fixture

PASSWORD = "support-test-password"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(64)
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
ROLES = {
    "agent": ["admin.access", "support.tickets"],  # answers tickets
    "lead": ["admin.access", "support.tickets", "support.manage"],
}  # and edits categories
PEOPLE = {  # who -> (email, role, name)
    "customer": ("cust@example.com", "customer", "Cus Tomer"),
    "other": ("other@example.com", "customer", "Other Person"),
    "agent": ("agent@example.com", "agent", "Agnes Agent"),
    "plain_staff": ("helper@example.com", "support", "Plain Staff"),  # admin.access only
    "lead": ("lead@example.com", "lead", "Lee Lead"),
}


@dataclass
class World:
    """The people (``ids[who]``, ``emails[who]``) and servers of a support test panel."""

    get_app: object  # () -> the current app
    ids: dict
    emails: dict
    server_id: int
    other_server_id: int

    @property
    def app(self):
        return self.get_app()

    def client_as(self, who: str):
        """A client logged in as ``who``."""
        return login(self.app, self.emails[who], PASSWORD)

    def ticket(self, ticket_id: int):
        with self.app.app_context():
            row = db.session.get(models().Ticket, ticket_id)
            db.session.expunge_all()
            return row


def make_role(app, name: str, permissions: list[str]) -> None:
    from kernel.accounts.models import Role

    with app.app_context():
        db.session.add(Role(name=name, description=name, permissions=permissions))
        db.session.commit()
        db.session.remove()


def populate(get_app) -> World:
    """Roles, people and a server each for the two customers, on the current app."""
    from kernel.accounts.services import create_user

    app = get_app()
    for role, permissions in ROLES.items():
        make_role(app, role, permissions)
    ids = {}
    with app.app_context():
        for who, (email, role, name) in PEOPLE.items():
            ids[who] = create_user(email, PASSWORD, name=name, role=role, verified=True).id
        from builtin_plugins.store.testing import make_server  # a conftest imports no plugin early

        servers = (
            make_server(ids["customer"], "Survival").id,
            make_server(ids["other"], "Other's box").id,
        )
        db.session.remove()
    return World(get_app, ids, {who: p[0] for who, p in PEOPLE.items()}, *servers)


@pytest.fixture
def pteroca_config():
    return {"RATELIMIT_LOGIN": "10000 per minute"}


@pytest.fixture(autouse=True)
def _scans(memoized_scans):  # noqa: F811 - the fixture imported above
    """Bandit reads the same files once per process (tests/scan_memo.py)."""


@pytest.fixture
def world(pteroca_instance, enable_plugin) -> World:
    enable_plugin("support", with_dependencies=True)
    return populate(lambda: pteroca_instance.app)


def upload(name: str, data: bytes) -> tuple[io.BytesIO, str]:
    return io.BytesIO(data), name


def open_ticket(
    client,
    *,
    subject="My server is down",
    body="It stopped at noon.",
    server: int | None = None,
    files=(),
    category: str = "1",
    priority: str = "normal",
):
    data = {
        "subject": subject,
        "body": body,
        "category": category,
        "priority": priority,
        "server": str(server or ""),
    }
    if files:
        data["files"] = [upload(n, d) for n, d in files]
    return client.post("/support/new", data=data, content_type="multipart/form-data")


def post_files(client, url: str, body: str, files=()):
    data = {"body": body}
    if files:
        data["files"] = [upload(n, d) for n, d in files]
    return client.post(url, data=data, content_type="multipart/form-data")


def ticket_id_of(response) -> int:
    assert response.status_code == 303, response.text
    return int(
        response.headers["Location"].split("?")[0].split("#")[0].rstrip("/").rsplit("/", 1)[-1]
    )


def models():
    """The plugin's models as loaded now (the loader may import the package afresh)."""
    from builtin_plugins.support import models as m

    return m


def audit_actions(app) -> list[str]:
    from kernel.models import AuditLog

    with app.app_context():
        return [a.action for a in db.session.scalars(db.select(AuditLog).order_by(AuditLog.id))]
