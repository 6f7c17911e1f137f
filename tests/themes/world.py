"""A populated panel for the theme tests: every client page has something to show.

Every builtin plugin enabled (through the scan gate, against a local OSV fake), the
Pterodactyl plugin configured for a simulator, Stripe and PayPal configured with
secrets. Three customers: ``bob`` (the viewer, whose pages the tests render) owns a
Paper server with a backup, a database, a schedule, a second port and a subuser;
``carol`` shares her server with bob; ``alice`` (the victim) has a server, payments,
two-factor authentication and a voucher nobody else knows. A theme must never show
bob anything of alice's, nor any secret.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import pyotp
from flask import Flask

from builtin_plugins.store.testing import buy
from kernel.extensions import db
from kernel.testing import TEST_PASSWORD, build_app, login, rebuild, run_cli
from tests.pterodactyl.conftest import (
    configure,
    panel_customer,
    panel_product,
    paper_settings,
    sim_settings,
)

PASSWORD = TEST_PASSWORD  # make_customer\'s
PLUGINS = ("hello_world", "pterodactyl", "stripe_payments", "paypal_payments")
SECRETS = {
    "stripe_payments": {
        "secret_key": "sk_test_WORLDSTRIPESECRET0123456789",
        "webhook_secret": "whsec_WORLDWEBHOOKSECRET0123",
    },
    "paypal_payments": {
        "client_id": "world-paypal-client",
        "client_secret": "WORLDPAYPALSECRET0123456789",
        "base_url": "http://127.0.0.1:9",
    },
}
VOUCHER = "ALICE-ONLY-VOUCHER-7731"
# Pages a visitor sees too (the customer is sent on from some of them).
PUBLIC = (
    "web.landing",
    "web.login",
    "web.register",
    "web.forgot_password",
    "store.store_index",
    "store.category",
    "store.product",
)
# Client-area pages that are not pages: JSON, redirects, downloads, the emailed-link targets.
NOT_PAGES = {
    "web.theme_static",
    "web.plugin_static",
    "static",
    "web.favicon",
    "web.health",
    "web.logout",
    "wallet.cancelled",
    "pterodactyl_tabs.console_credentials",
    "pterodactyl_tabs.console_status",
    "pterodactyl_tabs.backup_download",
    "web.verify_email",
    "web.confirm_email_change",
    "web.reset_password",
    "web.login_2fa",
    "web.privacy_export_download",  # a ZIP file behind a one-time token, not a page
    "servers.status",  # the Overview's status card alone (htmx); rendered inside servers.show
    "servers.statuses",  # the servers list's live states alone (htmx); swapped into servers.index
}


@dataclass
class World:
    app: Flask
    viewer: str = "bob@example.com"
    victim: str = "alice@example.com"
    ids: dict[str, int] = field(default_factory=dict)
    recovery_codes: list[str] = field(default_factory=list)
    panel_keys: tuple[str, ...] = ()

    def pages(self) -> dict[str, list[str]]:
        """Every GET page of the client area for the viewer, by endpoint (asserted complete
        against the URL map by :func:`missing_pages`)."""
        i = self.ids
        tabs = "/plugins/pterodactyl/servers/{}/{}"
        out = {
            "web.landing": ["/"],
            "web.login": ["/login"],
            "web.register": ["/register"],
            "web.forgot_password": ["/forgot-password"],
            "web.dashboard": ["/dashboard"],
            "web.account": ["/account"],
            "web.account_2fa": ["/account/2fa"],
            "web.account_delete": ["/account/delete"],
            "api_tokens.index": ["/account/api-tokens"],
            "wallet.index": ["/wallet"],
            "wallet.returned": [
                f"/wallet/return/{i['payment']}",
                f"/wallet/return/{i['paid_payment']}",
            ],
            "store.store_index": ["/store"],
            "store.category": ["/store/survival"],
            "store.product": ["/store/product/paper-small"],
            "store.checkout": ["/store/product/paper-small/checkout"],
            "store.redeem": ["/store/redeem"],
            "servers.index": ["/servers"],
            "servers.show": [f"/servers/{i['server']}"],
            "servers.settings": [f"/servers/{i['server']}/settings"],
            "servers.renew": [f"/servers/{i['server']}/renew"],
            "servers.change_plan": [f"/servers/{i['server']}/change-plan"],
            "hello_world.index": ["/plugins/hello_world/"],
            "pterodactyl_tabs.shared": ["/plugins/pterodactyl/shared"],
            "pterodactyl_tabs.schedule": [tabs.format(i["server"], f"schedules/{i['schedule']}")],
        }
        for tab in (
            "console",
            "activity",
            "backups",
            "databases",
            "network",
            "reinstall",
            "schedules",
            "startup",
            "users",
        ):
            out[f"pterodactyl_tabs.{tab}"] = [tabs.format(i["server"], tab)]
        out["pterodactyl_tabs.console"].append(tabs.format(i["shared"], "console"))
        return out

    def missing_pages(self) -> set[str]:
        """GET endpoints outside the admin and the REST API (JSON, and its reference page, which
        themes do not render) that :meth:`pages` forgets."""
        endpoints = {
            r.endpoint
            for r in self.app.url_map.iter_rules()
            if "GET" in r.methods and not r.rule.startswith(("/admin", "/api/"))
        }
        return endpoints - set(self.pages()) - NOT_PAGES

    def secrets(self) -> dict[str, str]:
        """What no theme may show the viewer: name -> the exact text."""
        from kernel.accounts.models import RecoveryCode, User
        from kernel.plugins.models import PluginSetting

        with self.app.app_context():
            out = {
                "SECRET_KEY": self.app.config["SECRET_KEY"],
                "DATABASE_URL": str(self.app.config["DATABASE_URL"]),
                "database file or name": _database_name(self.app.config["DATABASE_URL"]),
                "voucher code": VOUCHER,
            }
            for user in db.session.scalars(db.select(User)):
                out[f"password hash of {user.email}"] = user.password_hash
                if user.totp_secret:
                    out[f"TOTP secret of {user.email}"] = user.totp_secret
            out.update(
                {
                    f"recovery code hash {n}": c.code_hash
                    for n, c in enumerate(db.session.scalars(db.select(RecoveryCode)))
                }
            )
            for row in db.session.scalars(db.select(PluginSetting)):
                if row.key in (
                    "secret_key",
                    "webhook_secret",
                    "client_secret",
                    "application_key",
                    "client_key",
                ):
                    out[f"stored {row.plugin}.{row.key}"] = str(row.value)
            victim = db.session.scalar(db.select(User).where(User.email == self.victim))
            out["victim's email"] = victim.email
            out["victim's name"] = victim.name
            out["victim's server"] = "alice hidden fortress"
            db.session.remove()
        for plugin, values in SECRETS.items():
            for key, value in values.items():
                if key in ("client_secret", "secret_key", "webhook_secret"):
                    out[f"{plugin}.{key}"] = value
        out.update({f"victim's recovery code {n}": c for n, c in enumerate(self.recovery_codes)})
        return {k: v for k, v in out.items() if v and len(v) >= 6}


def _database_name(url: str) -> str:
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    return parsed.database if parsed.get_backend_name() != "sqlite" else Path(parsed.database).name


def build_world(instance: Path, sim, panel, osv_url: str) -> World:
    from kernel.plugins.settings import set_settings

    app = build_app(instance, OSV_URL=osv_url, MAIL_URL=f"file://{instance}/mail.log")
    for plugin in PLUGINS:
        result = run_cli(
            app, "plugin", "enable", plugin, "--with-dependencies", "--yes", "--accept-risk"
        )
        assert result.exit_code == 0, result.output
    app = rebuild(app)
    configure(app, **sim_settings(sim))
    world = World(app)
    with app.app_context():
        host = app.extensions["pteroca"]
        for plugin, values in SECRETS.items():
            set_settings(host.discovered[plugin].manifest, values)
        world.ids.update(_customers(panel))
        db.session.remove()
    bob = login(app, world.viewer, PASSWORD)
    _fill_the_tabs(world, bob)
    with app.app_context():
        world.recovery_codes = _victim_extras(world)
        db.session.remove()
    return world


def _customers(panel) -> dict[str, int]:
    from builtin_plugins.store.models import Category
    from kernel.accounts.services import create_user
    from kernel.payments.models import Payment

    category = Category(
        name="Survival", slug="survival", description="Worlds to survive", featured=True
    )
    db.session.add(category)
    product = panel_product(paper_settings(panel), slug="paper-small")
    product.category, product.featured = category, True
    db.session.commit()
    bob = panel_customer(email="bob@example.com", name="Bob Viewer", balance=500_00)
    alice = panel_customer(email="alice@example.com", name="Alice Victim", balance=300_00)
    carol = panel_customer(email="carol@example.com", name="Carol Friend", balance=100_00)
    create_user("admin@example.com", PASSWORD, name="Site Admin", role="admin", verified=True)
    ids = {
        "server": buy(bob, product, name="bob survival").id,
        "alice_server": buy(alice, product, name="alice hidden fortress").id,
        "shared": buy(carol, product, name="carol creative").id,
    }
    for user, status in ((bob, "failed"), (bob, "paid"), (alice, "paid")):
        payment = Payment(
            user_id=user.id,
            provider="stripe",
            status=status,
            currency="EUR",
            amount_charged=12_34,
            amount_credited=12_34,
            external_id=f"cs_world_{user.id}_{status}",
            failure_reason="card declined" if status == "failed" else "",
            meta={"note": f"meta of {user.email}"},
        )
        db.session.add(payment)
        db.session.flush()
        key = {"failed": "payment", "paid": "paid_payment"}[status]
        if user is bob:
            ids[key] = payment.id
    db.session.commit()
    return ids


def _fill_the_tabs(world: World, bob) -> None:
    """Bob's server gets something on every tab; carol shares hers with bob."""
    base = f"/plugins/pterodactyl/servers/{world.ids['server']}"
    for path, data in (
        (f"{base}/backups", {"name": "before update"}),
        (f"{base}/databases", {"database": "world", "remote": "%"}),
        (f"{base}/network", {}),
        (f"{base}/users", {"email": "carol@example.com", "permissions": ["control.console"]}),
        ("/plugins/hello_world/", {"text": "bob says hi"}),
    ):
        response = bob.post(path, data=data)
        assert response.status_code in (302, 303), (path, response.status_code)
    made = bob.post(
        f"{base}/schedules",
        data={
            "name": "nightly",
            "minute": "0",
            "hour": "3",
            "day_of_month": "*",
            "month": "*",
            "day_of_week": "*",
            "is_active": "1",
        },
    )
    assert made.status_code == 303
    world.ids["schedule"] = int(re.search(r"/schedules/(\d+)$", made.headers["Location"])[1])
    assert (
        bob.post(
            f"{base}/schedules/{world.ids['schedule']}/tasks",
            data={"action": "command", "payload": "say backup soon"},
        ).status_code
        == 303
    )
    carol = login(world.app, "carol@example.com", PASSWORD)
    shared = carol.post(
        f"/plugins/pterodactyl/servers/{world.ids['shared']}/users",
        data={"email": "bob@example.com", "permissions": ["control.console", "backup.read"]},
    )
    assert shared.status_code == 303


def _victim_extras(world: World) -> list[str]:
    """Alice's secrets: two-factor authentication with recovery codes, a voucher."""
    from builtin_plugins.hello_world.models import Greeting
    from builtin_plugins.store.models import Voucher
    from kernel.accounts import twofactor
    from kernel.accounts.models import User

    alice = db.session.scalar(db.select(User).where(User.email == world.victim))
    secret = twofactor.begin_setup(alice)
    codes = twofactor.confirm_setup(alice, pyotp.TOTP(secret).now())
    db.session.add(Voucher(code=VOUCHER, kind="balance", value=50_00, max_uses=1))
    # hello_world (a demo) greets every new customer by name and address on a wall all
    # customers see: the plugin's choice of what to show, not a template reaching data.
    db.session.execute(db.delete(Greeting).where(Greeting.by == alice.email))
    db.session.commit()
    return codes
