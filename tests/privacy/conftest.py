"""A panel with every builtin plugin enabled and two customers with data in all of them.

``world`` copies a session-wide template instance (every builtin plugin enabled through the
real gate once; the invoices seller and tax rates set) and fills it for ``ALICE`` and
``BOB``: a billing profile, a wallet top-up through Stripe and one through PayPal (settled
by the kernel, each invoiced), a server bought in the Pterodactyl simulator, a panel
account, a share of the other's server, hello_world's registration greeting, a linked
Discord identity, a support ticket about their server with an attached file, answered by
``AGENT`` (a reply and an internal note), an emailed announcement they dismissed, logins
from their own IP addresses, emails. Each test gets its own copy.
"""

from __future__ import annotations

import io
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from kernel import testing as kernel_testing
from kernel.extensions import db
from kernel.testing import build_app, rebuild, run_cli
from tests.helpers import PASSWORD
from tests.pterodactyl.conftest import (  # noqa: F401 - fixtures
    clock,
    configure,
    panel_product,
    paper_settings,
    sim,
    sim_settings,
    sleeps,
)

PLUGINS = (
    "pterodactyl",
    "pelican",
    "hello_world",
    "stripe_payments",
    "paypal_payments",
    "oauth_login",
    "invoices",
    "support",
    "announcements",
)
SELLER = {
    "seller_name": "Blockhost GmbH",
    "seller_address": "Hauptstrasse 5\n10115 Berlin",
    "seller_country": "DE",
    "seller_vat_id": "DE136695976",
    "seller_email": "billing@blockhost.test",
    "email_documents": False,
}
AGENT_ROLE = ["admin.access", "support.tickets", "announcements.manage"]


@dataclass(frozen=True)
class Person:
    email: str
    name: str
    ip: str
    server: str
    discord_id: str
    discord_name: str
    stripe_id: str
    paypal_id: str
    legal_name: str  # the billing profile
    company: str
    street: str
    postcode: str
    country: str
    ticket_subject: str  # the support ticket
    ticket_text: str
    ticket_file: str


ALICE = Person(
    "alice.zephyr@example.com",
    "Alice Zephyrine",
    "203.0.113.71",
    "Zephyr Realm",
    "700100200300",
    "zephy_rine",
    "cs_test_alice_1",
    "PAYPAL-ALICE-1",
    "Alice Marguerite Zephyrine",
    "Zephyrine Gaming SARL",
    "17 Rue des Zephyrs",
    "69007",
    "FR",
    "Lag spikes every evening",
    "My realm crashes with code ZX-7731-ALPHA",
    "zx7731-crash.log",
)
BOB = Person(
    "bob.quartz@example.org",
    "Bob Quartzwell",
    "198.51.100.42",
    "Quartz Mines",
    "800900100200",
    "quartz_bob",
    "cs_test_bob_1",
    "PAYPAL-BOB-1",
    "Bob Quentin Quartzwell",
    "Quartzwell Mining GmbH",
    "Quarzweg 9",
    "10117",
    "DE",
    "Cannot reach the console",
    "Console dies with code QM-4402-BETA",
    "qm4402-console.log",
)


@dataclass(frozen=True)
class Staff:
    email: str
    name: str
    ip: str


AGENT = Staff("ines.agentova@blockhost.test", "Ines Agentova", "192.0.2.15")


@pytest.fixture(scope="session")
def privacy_template(tmp_path_factory, request) -> Path:
    from tests.fakes.osv_server import FakeOsv

    instance = tmp_path_factory.mktemp("privacy-template") / "instance"
    extra = {}
    if kernel_testing.database_for_instance is not None:  # the PostgreSQL pass
        import os

        from tests.services import POSTGRES_ENV, fresh_postgres_database

        extra["DATABASE_URL"], drop = fresh_postgres_database(os.environ[POSTGRES_ENV])
        request.addfinalizer(drop)
    with FakeOsv() as osv:
        app = build_app(instance, OSV_URL=osv.url, **extra)
        built = [app]
        for plugin in PLUGINS:
            result = run_cli(
                app, "plugin", "enable", plugin, "--with-dependencies", "--yes", "--accept-risk"
            )
            assert result.exit_code == 0, result.output
        configured = rebuild(app)
        built.append(configured)
        with configured.app_context():
            _configure_shop()
    for each in built:
        with each.app_context():
            db.engine.dispose()
    (instance / "template-database-url").write_text(app.config.get("DATABASE_URL") or "")
    return instance


def _configure_shop() -> None:
    """Invoices can be issued (a seller, French and German VAT); the support agent's role."""
    from builtin_plugins.invoices import taxes
    from kernel import set_settings
    from kernel.accounts.models import Role

    set_settings("invoices", SELLER)
    for country, rate in (("DE", "19"), ("FR", "20")):
        taxes.set_rate(country, "standard", rate, "VAT")
    db.session.add(Role(name="agent", description="support agent", permissions=AGENT_ROLE))
    db.session.commit()


def _copy(template: Path, tmp_path: Path):
    instance = tmp_path / "instance"
    shutil.copytree(template, instance)
    extra, drop = {}, None
    template_url = (instance / "template-database-url").read_text()
    if template_url.startswith("postgresql"):
        import os

        from sqlalchemy.engine import make_url

        from tests.services import POSTGRES_ENV, fresh_postgres_database

        extra["DATABASE_URL"], drop = fresh_postgres_database(
            os.environ[POSTGRES_ENV], template=make_url(template_url).database
        )
    app = build_app(instance, MAIL_URL=f"file://{instance}/mail.log", **extra)
    return app, drop


def _fill(app, person: Person):
    """Everything a customer leaves behind, made through the real services."""
    from builtin_plugins.oauth_login import identities
    from builtin_plugins.oauth_login.client import ProviderIdentity
    from builtin_plugins.store import services as store
    from builtin_plugins.store.models import Product, Service
    from kernel import PAID, SessionStatus, User
    from kernel.accounts.services import find_user
    from kernel.payments.models import Payment
    from kernel.payments.settlement import settle

    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = person.ip
    client.post(
        "/register",
        data={"name": person.name, "email": person.email, "password": PASSWORD, "terms": "1"},
    )
    client.post("/logout")
    assert (
        client.post("/login", data={"email": person.email, "password": PASSWORD}).status_code == 302
    )
    billing = client.post(
        "/wallet/billing",
        data={
            "legal_name": person.legal_name,
            "company": person.company,
            "address": person.street,
            "postcode": person.postcode,
            "city": "Lyon" if person.country == "FR" else "Berlin",
            "country": person.country,
            "vat_id": "",
        },
    )
    assert billing.status_code == 303, billing.text
    with app.test_request_context(environ_base={"REMOTE_ADDR": person.ip}):
        user = find_user(person.email)
        for provider, external, amount in (
            ("stripe", person.stripe_id, 5000),
            ("paypal", person.paypal_id, 3000),
        ):
            db.session.add(
                Payment(
                    user_id=user.id,
                    provider=provider,
                    external_id=external,
                    status="open",
                    currency="USD",
                    amount_charged=amount,
                    amount_credited=amount,
                    amount_refunded=0,
                    checkout_url=f"https://pay.example/{external}",
                    meta={},
                )
            )
            db.session.commit()
            settle(provider, external, SessionStatus(PAID, amount, "USD"), source="webhook")
        product = db.session.scalar(db.select(Product).where(Product.slug == "paper-small"))
        store.purchase(
            user,
            token=store.new_purchase_token(user),
            product_id=product.id,
            plan_id=product.plans[0].id,
            name=person.server,
        )
        identities.link(
            db.session.get(User, user.id),
            ProviderIdentity(
                "discord", person.discord_id, person.email, True, person.name, person.discord_name
            ),
        )
        user_id = user.id
        server_id = db.session.scalar(db.select(Service.id).where(Service.user_id == user_id))
    opened = client.post(
        "/support/new",
        content_type="multipart/form-data",
        data={
            "subject": person.ticket_subject,
            "body": person.ticket_text,
            "category": "3",
            "priority": "normal",
            "server": str(server_id),
            "files": [(io.BytesIO(f"log of {person.ticket_text}\n".encode()), person.ticket_file)],
        },
    )
    assert opened.status_code == 303, opened.text
    return user_id


def _agent(app) -> None:
    """The support agent: registered, logged in from their own address."""
    from kernel.accounts.services import create_user

    with app.app_context():
        create_user(AGENT.email, PASSWORD, name=AGENT.name, role="agent", verified=True)
        db.session.remove()


def staff_client(app):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = AGENT.ip
    response = client.post("/login", data={"email": AGENT.email, "password": PASSWORD})
    assert response.status_code == 302, response.text
    return client


def _answer(app, person: Person) -> None:
    """The agent answers the person's ticket (a reply, signed, and an internal note)."""
    from builtin_plugins.support.models import Ticket
    from kernel.accounts.services import find_user

    with app.app_context():
        ticket_id = db.session.scalar(
            db.select(Ticket.id).where(Ticket.user_id == find_user(person.email).id)
        )
    agent = staff_client(app)
    for action, body in (
        ("reply", f"Looking into it.\n\nRegards, {AGENT.name}"),
        ("note", f"{person.name} asked twice; check the node."),
    ):
        answer = agent.post(f"/admin/support/tickets/{ticket_id}/{action}", data={"body": body})
        assert answer.status_code == 303, answer.text


def _announce(app) -> int:
    """An emailed, dismissible announcement written by the agent (every account gets it)."""
    from builtin_plugins.announcements import services
    from builtin_plugins.announcements.services import AnnouncementInput

    with app.test_request_context():
        announcement = services.save(
            AnnouncementInput(
                title="Maintenance on Sunday", body="Nodes restart at 02:00 UTC.", email=True
            ),
            actor=AGENT.email,
        )
        return announcement.id


def _dismiss(app, person: Person, announcement_id: int) -> None:
    client = person_client(app, person)
    assert client.post(f"/announcements/{announcement_id}/dismiss").status_code == 303


def _share(app, owner_id: int, guest_id: int) -> None:
    """The owner shares their server with the guest (a subuser)."""
    from builtin_plugins.pterodactyl.tabs.models import Subuser
    from builtin_plugins.store.models import Service

    with app.app_context():
        shared = db.session.scalar(db.select(Service).where(Service.user_id == owner_id))
        db.session.add(Subuser(service_id=shared.id, user_id=guest_id, panel_uuid=f"u-{guest_id}"))
        db.session.commit()


@dataclass
class World:
    app: object
    sim: object
    ids: dict


@pytest.fixture
def world(privacy_template, tmp_path, sim, sleeps):  # noqa: F811 - fixtures above
    app, drop = _copy(privacy_template, tmp_path)
    configure(app, **sim_settings(sim))
    with app.app_context():
        from builtin_plugins.pterodactyl.client import PanelClient

        with PanelClient(sim.url, sim.application_key, sim.client_key) as panel:
            panel_product(paper_settings(panel))
    _agent(app)
    ids = {"alice": _fill(app, ALICE), "bob": _fill(app, BOB)}
    _share(app, ids["bob"], ids["alice"])
    _share(app, ids["alice"], ids["bob"])
    for person in (ALICE, BOB):
        _answer(app, person)
    announcement = _announce(app)
    for person in (ALICE, BOB):
        _dismiss(app, person, announcement)
    yield World(app, sim, ids)
    if drop is not None:
        with app.app_context():
            db.engine.dispose()
        drop()


def person_client(app, person: Person):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = person.ip
    response = client.post("/login", data={"email": person.email, "password": PASSWORD})
    assert response.status_code == 302, response.text
    return client


def mail_links(app, marker: str) -> list[str]:
    """Links containing ``marker`` in the emails sent so far (bodies decoded)."""
    import quopri
    import re

    text = quopri.decodestring((Path(app.instance_path) / "mail.log").read_bytes()).decode(
        errors="replace"
    )
    return re.findall(r"(http\S+" + re.escape(marker) + r"\S+)", text)
