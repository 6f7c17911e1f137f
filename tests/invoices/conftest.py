"""An invoicing shop: the invoices plugin (and the store) enabled, a German seller with EU
rates, a test payment provider, a frozen clock, and builders for customers and payments."""

from __future__ import annotations

import os
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest

from kernel import clock
from kernel.accounts.services import create_user
from kernel.extensions import db
from kernel.payments.models import Payment
from kernel.payments.settlement import refresh, start_topup
from kernel.payments.takebacks import refund
from kernel.testing import build_app, rebuild, run_cli
from tests.helpers import write_plugin
from tests.payments.conftest import TESTPAY

DROPPER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="drop-shop-db")
START = datetime(2026, 3, 14, 9, 30, 0)
SELLER = {
    "seller_name": "Blockhost GmbH",
    "seller_address": "Hauptstraße 5\n10115 Berlin",
    "seller_country": "DE",
    "seller_vat_id": "DE136695976",
    "seller_email": "billing@blockhost.test",
    "seller_footer": "IBAN DE02 1203 0000 0000 2020 51 · Amtsgericht Berlin HRB 12345",
}
RATES = [
    ("DE", "standard", "19"),
    ("FR", "standard", "20"),
    ("AT", "standard", "20"),
    ("DE", "reduced", "7"),
    ("FR", "reduced", "5.5"),
]
FR_BUSINESS_VAT = "FR40303265045"  # valid check digits (a public example number)
DE_BUSINESS_VAT = "DE136695976"


@dataclass
class Template:
    """A shop set up once per test process: copied for each test (its instance folder, and
    for PostgreSQL its database), so a test does not pay for three plugin scans."""

    instance: Path
    database: str  # PostgreSQL database name ("" for SQLite: the file in the instance)
    drop: object = None


def _admin_url() -> str:
    from tests.services import require_postgres

    return require_postgres()


def _make_template(kind: str, folder: Path) -> Template:
    from sqlalchemy.engine import make_url

    from tests.services import fresh_postgres_database

    instance = folder / "instance"
    url, drop = fresh_postgres_database(_admin_url()) if kind == "postgres" else (None, None)
    app = build_app(
        instance,
        **(
            {"DATABASE_URL": url}
            if url
            else {"DATABASE_URL": f"sqlite:///{instance / 'pteroca.db'}"}
        ),
    )
    write_plugin(instance / "plugins", "testpay", TESTPAY, capabilities=["payments"])

    for args in (
        ["plugin", "enable", "testpay"],
        ["plugin", "enable", "invoices", "--with-dependencies", "--yes"],
    ):
        result = run_cli(app, *args)
        assert result.exit_code == 0, result.output
    app = rebuild(app)
    with app.app_context():
        configure(**SELLER)
        from builtin_plugins.invoices import taxes
        from kernel import site_settings

        for country, tax_class, rate in RATES:
            taxes.set_rate(country, tax_class, rate, "VAT")
        site_settings.set_many({"currency": "EUR", "site_name": "Blockhost"})
        db.session.remove()
    if url:  # a template database must have no connections left
        import psycopg

        plain = (
            make_url(_admin_url())
            .set(drivername="postgresql")
            .render_as_string(hide_password=False)
        )
        with psycopg.connect(plain, autocommit=True) as conn:
            conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE "
                "datname = %s AND pid <> pg_backend_pid()",
                (make_url(url).database,),
            )
        return Template(instance, make_url(url).database, drop)
    return Template(instance, "")


@pytest.fixture(scope="session")
def shop_templates(tmp_path_factory):
    made: dict[str, Template] = {}

    def template(kind: str) -> Template:
        if kind not in made:
            made[kind] = _make_template(kind, tmp_path_factory.mktemp(f"shop-{kind}"))
        return made[kind]

    yield template
    DROPPER.shutdown(wait=True)  # the tests' copies first: a template cannot be dropped in use
    for made_one in made.values():
        if made_one.drop:
            made_one.drop()


@pytest.fixture
def shop_database() -> str:
    """sqlite or postgres (the suite's choice); tests that need PostgreSQL override it."""
    from tests.services import TEST_DATABASE_ENV

    return "postgres" if os.environ.get(TEST_DATABASE_ENV) == "postgres" else "sqlite"


@pytest.fixture
def shop_config():
    return {}


@pytest.fixture
def shop(tmp_path, shop_templates, shop_database, shop_config):
    template = shop_templates(shop_database)
    instance = tmp_path / "instance"
    shutil.copytree(template.instance, instance)
    drop = None
    if template.database:
        from tests.services import fresh_postgres_database

        url, drop = fresh_postgres_database(_admin_url(), template=template.database, ahead=True)
    else:
        url = f"sqlite:///{instance / 'pteroca.db'}"
    app = build_app(
        instance,
        MAIL_URL=f"file://{instance}/mail.log",
        BASE_URL="https://panel.test",
        DATABASE_URL=url,
        **shop_config,
    )
    clock.freeze(START)
    import pteroca_plugins.testpay as testpay

    testpay.SESSIONS.clear()
    testpay.REFUNDS.clear()
    yield app
    clock.reset()
    if drop:
        with app.app_context():
            db.session.remove()
            for engine in db.engines.values():
                engine.dispose()
        DROPPER.submit(drop)  # DROP DATABASE waits for a checkpoint: not on the test's time


@pytest.fixture
def ctx(shop):
    with shop.test_request_context():
        yield
        db.session.remove()


@pytest.fixture
def register_lines(shop):
    """Add lines to every invoice, as a plugin implementing ``invoice_lines`` would."""
    from kernel import hookimpl
    from kernel.plugins.host import plugin_manager

    def register(lines: list[dict]):
        class Extras:
            @hookimpl
            def invoice_lines(self, kind):
                return [dict(line) for line in lines] if kind == "invoice" else []

        plugin_manager(shop).register(Extras(), name="test_invoice_lines")

    return register


def configure(**values) -> None:
    """Store invoices settings (inside an app context)."""
    from kernel import set_settings

    set_settings("invoices", values)


def customer(
    email: str,
    *,
    country: str = "",
    vat_id: str = "",
    company: str = "",
    name: str = "Camille Martin",
    city: str = "Lyon",
):
    """A customer; with ``country``, a billing profile saved through the real service."""
    user = create_user(email, "customer-password-1", name=name.split()[0])
    if country:
        from builtin_plugins.invoices import config, profiles

        profiles.save(
            user.id,
            {
                "legal_name": name,
                "company": company,
                "address": "12 rue de la Paix",
                "postcode": "69001",
                "city": city,
                "country": country,
                "vat_id": vat_id,
            },
            config.load(),
        )
    return user


def topup(user, amount: int, *, charge: int | None = None, meta: dict | None = None) -> Payment:
    """A top-up paid at the test provider and settled through the kernel."""
    import pteroca_plugins.testpay as testpay

    payment = start_topup(
        user,
        amount,
        "testpay",
        return_urls=lambda p: ("https://r", "https://c"),
        charge=charge,
        meta=meta,
    )
    testpay.SESSIONS[payment.external_id]["status"] = "paid"
    return refresh(payment)


def refund_payment(payment: Payment, amount: int) -> Payment:
    return refund(payment, amount, force=True)


def documents(user_id: int | None = None):
    from builtin_plugins.invoices.models import Document

    query = db.select(Document).order_by(Document.id)
    if user_id is not None:
        query = query.where(Document.user_id == user_id)
    return list(db.session.scalars(query))


def pdf_text(data: bytes, tmp_path: Path) -> str:
    """The text of a PDF as ``pdftotext -layout`` reads it."""
    path = tmp_path / "document.pdf"
    path.write_bytes(data)
    out = subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, check=True, timeout=60
    )
    return out.stdout.decode()


def mails(app) -> str:
    path = Path(app.config["INSTANCE_PATH"]) / "mail.log"
    return path.read_text() if path.exists() else ""
