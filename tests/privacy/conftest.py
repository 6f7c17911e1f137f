"""A panel with every builtin plugin enabled and two customers with data in all of them.

``world`` copies a session-wide template instance (store, pterodactyl, hello_world, stripe,
paypal and oauth_login enabled through the real gate once) and fills it for ``ALICE`` and
``BOB``: a wallet top-up through Stripe and one through PayPal (settled by the kernel), a
server bought in the Pterodactyl simulator, a panel account, a share of the other's server,
hello_world's registration greeting, a linked Discord identity, logins from their own IP
addresses, emails. Each test gets its own copy.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from kernel import testing as kernel_testing
from kernel.extensions import db
from kernel.testing import build_app, rebuild
from tests.helpers import PASSWORD
from tests.pterodactyl.conftest import (  # noqa: F401 - fixtures
    configure,
    make_product,
    paper_settings,
    sim,
    sim_settings,
    sleeps,
)

PLUGINS = ("pterodactyl", "hello_world", "stripe_payments", "paypal_payments", "oauth_login")


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


ALICE = Person("alice.zephyr@example.com", "Alice Zephyrine", "203.0.113.71", "Zephyr Realm",
               "700100200300", "zephy_rine", "cs_test_alice_1", "PAYPAL-ALICE-1")
BOB = Person("bob.quartz@example.org", "Bob Quartzwell", "198.51.100.42", "Quartz Mines",
             "800900100200", "quartz_bob", "cs_test_bob_1", "PAYPAL-BOB-1")


@pytest.fixture(scope="session")
def privacy_template(tmp_path_factory, request) -> Path:
    from kernel.cli import main
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
            cli_app = rebuild(app)
            built.append(cli_app)
            result = cli_app.test_cli_runner().invoke(
                main, ["plugin", "enable", plugin, "--with-dependencies", "--yes", "--accept-risk"])
            assert result.exit_code == 0, result.output
    for each in built:
        with each.app_context():
            db.engine.dispose()
    (instance / "template-database-url").write_text(app.config.get("DATABASE_URL") or "")
    return instance


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
            os.environ[POSTGRES_ENV], template=make_url(template_url).database)
    app = build_app(instance, MAIL_URL=f"file://{instance}/mail.log", **extra)
    return app, drop


def _fill(app, person: Person):
    """Everything a customer leaves behind, made through the real services."""
    from builtin_plugins.oauth_login import identities
    from builtin_plugins.oauth_login.client import ProviderIdentity
    from builtin_plugins.store import services as store
    from builtin_plugins.store.models import Product
    from kernel import PAID, SessionStatus, User
    from kernel.accounts.services import find_user
    from kernel.payments.models import Payment
    from kernel.payments.settlement import settle

    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = person.ip
    client.post("/register", data={"name": person.name, "email": person.email,
                                   "password": PASSWORD, "terms": "1"})
    client.post("/logout")
    assert client.post("/login", data={"email": person.email, "password": PASSWORD}
                       ).status_code == 302
    with app.test_request_context(environ_base={"REMOTE_ADDR": person.ip}):
        user = find_user(person.email)
        for provider, external, amount in (("stripe", person.stripe_id, 5000),
                                           ("paypal", person.paypal_id, 3000)):
            db.session.add(Payment(user_id=user.id, provider=provider, external_id=external,
                                   status="open", currency="USD", amount_charged=amount,
                                   amount_credited=amount, amount_refunded=0,
                                   checkout_url=f"https://pay.example/{external}", meta={}))
            db.session.commit()
            settle(provider, external, SessionStatus(PAID, amount, "USD"), source="webhook")
        product = db.session.scalar(db.select(Product).where(Product.slug == "paper-small"))
        store.purchase(user, token=store.new_purchase_token(user), product_id=product.id,
                       plan_id=product.plans[0].id, name=person.server)
        identities.link(db.session.get(User, user.id), ProviderIdentity(
            "discord", person.discord_id, person.email, True, person.name, person.discord_name))
        return user.id


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
            make_product(paper_settings(panel))
    ids = {"alice": _fill(app, ALICE), "bob": _fill(app, BOB)}
    _share(app, ids["bob"], ids["alice"])
    _share(app, ids["alice"], ids["bob"])
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
        errors="replace")
    return re.findall(r"(http\S+" + re.escape(marker) + r"\S+)", text)
