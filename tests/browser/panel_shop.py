"""What the store's journeys on a panel share (``test_panel_admin_journey``,
``test_panel_customer_journey``): a shop selling on the ``panel`` fixture's panel with an admin
and a customer with 25.00, and the steps both take (log in, buy, wait for the panel)."""

from __future__ import annotations

import re
import time

from kernel.extensions import db
from tests.browser.panels import Panel, panel_app

ADMIN = ("root@example.com", "root-password-1")
EMAIL = "buyer@example.com"


def shop_app(panel: Panel, instance):
    """The live app: the panel's plugin configured, an admin and a customer with 25.00."""
    from kernel.accounts.services import create_user
    from kernel.testing import make_customer

    app = panel_app(panel.template, instance, [panel])
    with app.app_context():
        create_user(*ADMIN, name="Root", role="admin", verified=True)
        make_customer(EMAIL, 25_00, name="Buyer")
        db.session.remove()
    return app


def log_in(page, base: str, email: str, password: str) -> None:
    page.goto(f"{base}/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/dashboard")


def eventually(check, what: str, seconds: float = 30):
    """``check()``'s first truthy answer (the panel follows the store through a job)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def service_row(app, name: str):
    """The store's service named ``name`` (read in a fresh session)."""
    from builtin_plugins.store.models import Service

    with app.app_context():
        service = db.session.scalar(db.select(Service).where(Service.name == name))
        db.session.expunge(service)
        db.session.remove()
    return service


def buy(page, base: str, slug: str, name: str) -> str:
    """Checkout ``slug`` as ``name`` and wait for the server page; its address."""
    page.goto(f"{base}/store/product/{slug}/checkout")
    page.fill("#name", name)
    page.click("button[type=submit]:has-text('Pay and create the server')")
    page.wait_for_url(re.compile(r"/servers/\d+$"))
    return page.url


def pick(page, select: str, wanted) -> None:
    """Choose the option of ``select`` whose text ``wanted(text)`` accepts (exactly one)."""
    options = page.locator(f"{select} option").all_inner_texts()
    [label] = [o for o in options if wanted(o.strip().lower())]
    page.select_option(select, label=label.strip())


def user_id(app) -> int:
    """The id of the shop's customer (:data:`EMAIL`)."""
    from kernel.accounts.models import User

    with app.app_context():
        found = db.session.scalar(db.select(User.id).where(User.email == EMAIL))
        db.session.remove()
    return found
