"""The panel kit's server tabs are panel-neutral: a second panel plugin ("fakepanel", its own
provisioner, blueprint, URL prefix and subuser table) gets the same tabs from a few lines of
adapter, against the same simulated panel, and neither panel reaches the other's services."""

from __future__ import annotations

import dataclasses
import re

import pytest
from sqlalchemy import Integer, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from builtin_plugins.panel_kit.api import shared_menu_items, tabs_blueprint, tabs_for
from builtin_plugins.pterodactyl.tabs.adapter import TABS
from kernel.extensions import db
from kernel.testing import TEST_PASSWORD, login
from tests.pterodactyl.conftest import panel_customer
from tests.pterodactyl.tabs_helpers import *  # noqa: F403 - the fixtures
from tests.pterodactyl.tabs_helpers import buy_server, flashes, sim_server, tab_url

FAKE_PREFIX = "/plugins/fakepanel/fp"


class _Base(DeclarativeBase):
    """Its own metadata: the fake plugin's table stays out of pteroca's models."""


class FakeSubuser(_Base):
    __tablename__ = "fakepanel_subuser"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    service_id: Mapped[int] = mapped_column(Integer, index=True)
    user_id: Mapped[int] = mapped_column(Integer, index=True)
    panel_uuid: Mapped[str] = mapped_column(String(36), default="")


LINKS: dict[int, tuple[str, int]] = {}  # the fake plugin's service -> panel server links

FAKE = dataclasses.replace(
    TABS,
    plugin="fakepanel",
    provisioner="fakepanel",
    blueprint="fakepanel_tabs",
    url_prefix="/fp",
    subuser_model=FakeSubuser,
    server_link=LINKS.get,
    console_token_seconds=600,
    command_needs_online=True,
    shared_menu_order=13,
)


def fake_url(service_id: int, path: str = "console") -> str:
    return f"{FAKE_PREFIX}/servers/{service_id}/{path}"


@pytest.fixture(autouse=True)
def fake_app(ptero_app):
    """The Pterodactyl app with the fake panel's tabs registered as the kernel would (before
    any request), its table created and its links empty."""
    from builtin_plugins.panel_kit.tabs import console

    ptero_app.register_blueprint(tabs_blueprint(FAKE), url_prefix="/plugins/fakepanel/fp")
    with ptero_app.app_context():
        _Base.metadata.create_all(db.engine)
    LINKS.clear()
    console._tokens.clear()
    yield ptero_app
    LINKS.clear()
    console._tokens.clear()


@pytest.fixture
def dora(ptero_app, paper_product):
    """Dora's server, bought through Pterodactyl, then handed to the fake panel plugin: its
    product's provisioner is "fakepanel" and the fake plugin links it to the panel server."""
    from builtin_plugins.pterodactyl import links
    from builtin_plugins.store.models import Product, Service
    from builtin_plugins.store.testing import make_product

    bought = buy_server(ptero_app, paper_product, "dora@example.com", "dora fakeworld")
    with ptero_app.app_context():
        settings = db.session.get(Product, paper_product).provisioner_settings
        fake = make_product("fake-paper", provisioner="fakepanel", settings=dict(settings))
        service = db.session.get(Service, bought.service_id)
        service.product_id = fake.id
        link = links.server_link(service.id)
        LINKS[service.id] = (link.identifier, link.server_id)
        db.session.commit()
        db.session.remove()
    return bought


def login_as(app, email: str):
    return login(app, email, TEST_PASSWORD)


def rules_of(app, prefix: str) -> list:
    return [
        r
        for r in app.url_map.iter_rules()
        if r.endpoint.startswith(prefix) and "service_id" in r.arguments
    ]


def url_of(app, rule, service_id: int) -> str:
    from flask import url_for

    args = {name: 1 for name in rule.arguments - {"service_id"}}
    if "backup" in args or "uuid" in args:
        args.update(
            {k: "0b5e2c2a-1b1e-4c1d-9f7e-3a0f5e8d9c11" for k in ("backup", "uuid") if k in args}
        )
    with app.test_request_context():
        return url_for(rule.endpoint, service_id=service_id, **args)


def test_the_second_panel_has_every_tab_under_its_own_names(fake_app, dora, owner):
    ours = rules_of(fake_app, "fakepanel_tabs.")
    theirs = rules_of(fake_app, "pterodactyl_tabs.")
    assert len(ours) == len(theirs) >= 35
    assert {r.rule.removeprefix(FAKE_PREFIX) for r in ours} == {
        r.rule.removeprefix("/plugins/pterodactyl") for r in theirs
    }
    client = login_as(fake_app, dora.email)
    with fake_app.test_request_context():
        from builtin_plugins.store.models import Service
        from kernel.accounts.models import User

        service = db.session.get(Service, dora.service_id)
        user = db.session.get(User, dora.user_id)
        found = tabs_for(FAKE, service, user)
        assert tabs_for(TABS, service, user) == []  # not a Pterodactyl service any more
    assert [t["id"] for t in found] == [
        "console",
        "startup",
        "backups",
        "databases",
        "network",
        "users",
        "schedules",
        "activity",
        "reinstall",
    ]
    for tab in found:
        assert tab["url"] == fake_url(dora.service_id, tab["id"])
        page = client.get(tab["url"])
        assert page.status_code == 200, (tab["id"], flashes(page.text))
        assert "pterodactyl" not in page.text.lower(), tab["id"]  # no URL, name or asset leaks
        for target in re.findall(r'(?:action|href)="(/plugins/[^"]*)"', page.text):
            assert target.startswith(FAKE_PREFIX + "/"), (tab["id"], target)
        assert "/-/plugin-static/panel_kit/tabs/tabs.css" in page.text  # the kit's assets


def test_actions_audit_and_subusers_stay_in_the_second_panel(fake_app, dora, sim):
    from builtin_plugins.pterodactyl.tabs.models import Subuser
    from kernel.models import AuditLog

    client = login_as(fake_app, dora.email)
    started = client.post(fake_url(dora.service_id, "power"), data={"signal": "start"})
    assert started.status_code == 303
    assert started.headers["Location"].endswith(fake_url(dora.service_id, "console"))
    with fake_app.app_context():
        panel_customer(email="erin@example.com", name="Erin Helper", balance=0)
    invited = client.post(
        fake_url(dora.service_id, "users"),
        data={"email": "erin@example.com", "permissions": ["control.console", "backup.read"]},
    )
    assert invited.status_code == 303, flashes(invited.text)
    with fake_app.app_context():
        target = f"service:{dora.service_id}"
        actions = set(
            db.session.scalars(db.select(AuditLog.action).where(AuditLog.target == target))
        )
        assert {"fakepanel.power", "fakepanel.subuser_invite"} <= actions
        assert not any(a.startswith("pterodactyl.") for a in actions), actions
        rows = db.session.scalars(db.select(FakeSubuser)).all()
        assert [(r.service_id, len(r.panel_uuid)) for r in rows] == [(dora.service_id, 36)]
        assert db.session.scalars(db.select(Subuser)).all() == []  # not Pterodactyl's table
    erin = login_as(fake_app, "erin@example.com")
    assert erin.get(fake_url(dora.service_id, "backups")).status_code == 200
    assert erin.get(fake_url(dora.service_id, "startup")).status_code == 403
    shared = erin.get(f"{FAKE_PREFIX}/shared")
    assert shared.status_code == 200 and "dora fakeworld" in shared.text
    assert fake_url(dora.service_id, "console") in shared.text
    assert "dora fakeworld" not in erin.get("/plugins/pterodactyl/shared").text
    with fake_app.test_request_context():
        from kernel.accounts.models import User

        user = db.session.scalar(db.select(User).where(User.email == "erin@example.com"))
        assert shared_menu_items(FAKE, user) == [
            {"label": "Shared with me", "url": f"{FAKE_PREFIX}/shared", "order": 13}
        ]
        assert shared_menu_items(TABS, user) == []


def test_neither_panel_reaches_the_other_panels_services(fake_app, dora, owner, sim):
    """Alice owns a Pterodactyl server, Dora a fake-panel one: every tab endpoint of the other
    panel answers 404 for their own service ids, and a share row in one plugin's table opens
    nothing in the other's."""
    from builtin_plugins.pterodactyl.tabs.models import Subuser

    alice = login_as(fake_app, owner.email)
    dora_client = login_as(fake_app, dora.email)
    before = sim_server(sim, owner.identifier).power_state
    checked = 0
    for client, prefix, service_id in (
        (alice, "fakepanel_tabs.", owner.service_id),
        (dora_client, "pterodactyl_tabs.", dora.service_id),
    ):
        for rule in rules_of(fake_app, prefix):
            url = url_of(fake_app, rule, service_id)
            method = "POST" if "POST" in rule.methods else "GET"
            answer = client.open(url, method=method, data={"signal": "start", "command": "x"})
            assert answer.status_code == 404, (method, url, answer.status_code)
            checked += 1
    assert checked >= 70
    assert sim_server(sim, owner.identifier).power_state == before
    # Shares are per plugin: a forged row in the other plugin's table opens nothing.
    with fake_app.app_context():
        panel_customer(email="mallory@example.com", name="Mallory", balance=0)
        from kernel.accounts.models import User

        mallory = db.session.scalar(db.select(User).where(User.email == "mallory@example.com"))
        db.session.add(Subuser(service_id=dora.service_id, user_id=mallory.id, panel_uuid=""))
        db.session.add(FakeSubuser(service_id=owner.service_id, user_id=mallory.id, panel_uuid=""))
        db.session.commit()
        db.session.remove()
    mallory_client = login_as(fake_app, "mallory@example.com")
    for url in (
        fake_url(dora.service_id),
        fake_url(owner.service_id),
        tab_url(dora.service_id),
        tab_url(owner.service_id),
    ):
        assert mallory_client.get(url).status_code == 404, url
    assert "fakeworld" not in mallory_client.get(f"{FAKE_PREFIX}/shared").text
    assert "alice survival" not in mallory_client.get(f"{FAKE_PREFIX}/shared").text


def test_console_token_is_reused_where_the_panel_throttles_it(fake_app, dora, owner, sim):
    dora_client = login_as(fake_app, dora.email)
    alice = login_as(fake_app, owner.email)
    sim.clear_requests()
    for _ in range(3):
        assert dora_client.get(fake_url(dora.service_id, "console/credentials")).status_code == 200
        assert alice.get(tab_url(owner.service_id, "console/credentials")).status_code == 200
    sockets = [r["path"] for r in sim.requests if r["path"].endswith("/websocket")]
    assert sum(dora.identifier in p for p in sockets) == 1  # fake panel: cached 600 s
    assert sum(owner.identifier in p for p in sockets) == 3  # Pterodactyl: asked each time


def test_a_command_to_an_offline_server_is_refused_before_the_panel_drops_it(fake_app, dora, sim):
    dora_client = login_as(fake_app, dora.email)
    assert sim_server(sim, dora.identifier).power_state != "running"
    sim.clear_requests()
    sent = dora_client.post(fake_url(dora.service_id, "command"), data={"command": "say hi"})
    assert sent.status_code == 409
    assert "must be running" in flashes(sent.text)
    paths = [r["path"] for r in sim.requests]
    assert any(p.endswith("/resources") for p in paths)
    assert not any(p.endswith("/command") for p in paths)


def test_a_theme_restyles_one_panels_tab_or_every_panels(fake_app, dora, owner, fresh):
    """Tab pages are looked up under the panel plugin's name first (``panel/pterodactyl/tabs/
    ...`` in a theme, as before the kit), then the kit's (``panel/panel_kit/tabs/...``: every
    panel); the shell ``base.html`` follows the same order."""
    from tests.helpers import make_theme

    make_theme(
        fake_app,
        "tabsy",
        {
            "panel/pterodactyl/tabs/console.html": "{% extends tabs_base %}"
            "{% block panel %}PTERO-THEMED-CONSOLE{% endblock %}",
            "panel/pterodactyl/tabs/base.html": '{% extends "panel_kit/tabs/base.html" %}'
            "{% block tab_head %}PTERO-THEMED-SHELL{% endblock %}",
            "panel/panel_kit/tabs/network.html": "{% extends tabs_base %}"
            "{% block panel %}KIT-THEMED-NETWORK{% endblock %}",
        },
    )
    themed = fresh(fake_app)  # a new theme takes effect in a rebuilt app
    themed.register_blueprint(tabs_blueprint(FAKE), url_prefix="/plugins/fakepanel/fp")
    alice = login_as(themed, owner.email)
    dora_client = login_as(themed, dora.email)
    ptero_console = alice.get(tab_url(owner.service_id, "console")).text
    assert "PTERO-THEMED-CONSOLE" in ptero_console and "PTERO-THEMED-SHELL" in ptero_console
    fake_console = dora_client.get(fake_url(dora.service_id, "console")).text
    assert "PTERO-THEMED" not in fake_console and 'id="ptero-console"' in fake_console
    assert "PTERO-THEMED-SHELL" in alice.get(tab_url(owner.service_id, "backups")).text
    for page in (
        alice.get(tab_url(owner.service_id, "network")),
        dora_client.get(fake_url(dora.service_id, "network")),
    ):
        assert page.status_code == 200 and "KIT-THEMED-NETWORK" in page.text
