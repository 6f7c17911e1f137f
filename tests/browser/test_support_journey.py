"""A customer opens a ticket from a server page with an attachment, staff answer with an
internal note and a reply, the customer gets the mail (a real SMTP server), answers through
its link, and staff close the ticket: in a real browser, with CSRF on."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from builtin_plugins.store.testing import make_server
from kernel.testing import build_app, rebuild
from tests.fakes.smtp import FakeSMTPServer
from tests.support.conftest import PASSWORD, make_role

CUSTOMER, AGENT = "gamer@example.com", "agnes@example.com"


@pytest.fixture
def smtp():
    with FakeSMTPServer() as server:
        yield server


@pytest.fixture
def live_app(instance, plugins_dir, smtp):  # overrides the browser fixture: real SMTP
    from kernel.accounts.services import create_user
    from kernel.extensions import db
    from kernel.plugin_lifecycle import services

    app = build_app(instance, WTF_CSRF_ENABLED=True, MAIL_URL=smtp.url)
    with app.app_context():
        services.enable("support", with_dependencies=True, accept_risk=True, actor="test")
    app = rebuild(app)
    make_role(app, "agent", ["admin.access", "support.tickets"])
    with app.app_context():
        customer = create_user(CUSTOMER, PASSWORD, name="Gamer", verified=True)
        create_user(AGENT, PASSWORD, name="Agnes", role="agent", verified=True)
        app.config["JOURNEY_SERVER"] = make_server(customer.id, "Survival world").id
        db.session.remove()
    return app


def log_in(page, base, email):
    page.goto(f"{base}/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/dashboard")


def log_out(page):
    page.click("nav form.logout button[type=submit]")


def local(url: str, base: str) -> str:
    parts = urlsplit(url)
    return f"{base}{parts.path}"


def test_ticket_from_a_server_page_to_closed(
    live_app, live_server, page, browser, smtp, screenshot
):
    base, server_id = live_server, live_app.config["JOURNEY_SERVER"]
    log_in(page, base, CUSTOMER)
    page.goto(f"{base}/servers/{server_id}")
    page.locator("a.server-action", has_text="Get help").click()
    page.wait_for_url(f"{base}/support/new?server={server_id}")
    assert page.locator("#server option:checked").inner_text().startswith("Survival world")
    page.fill("#subject", "World will not start")
    page.select_option("#category", label="Technical")
    page.select_option("#priority", "high")
    page.fill("#body", "It crashes on boot, log attached. **Please help.**")
    page.set_input_files(
        "#files",
        files=[
            {
                "name": "latest.log",
                "mimeType": "text/plain",
                "buffer": b"[12:00] ERROR Exception in tick\n",
            }
        ],
    )
    screenshot("support-new-ticket")
    page.click("#new-ticket-form button[type=submit]")
    page.wait_for_url(f"{base}/support/*")
    ticket_url = page.url
    ticket_id = int(ticket_url.rsplit("/", 1)[-1])
    assert "latest.log" in page.inner_text("main") and "Please help." in page.inner_text("main")
    log_out(page)

    log_in(page, base, AGENT)
    page.goto(f"{base}/admin/")
    tickets_link = page.locator("a.nav-link", has_text="Tickets")
    assert tickets_link.locator(".menu-badge").inner_text() == "1"
    tickets_link.click()
    page.locator(f"tr[data-ticket='{ticket_id}'] a").first.click()
    assert "Survival world" in page.inner_text("#server-snapshot")
    page.fill("#note textarea[name=body]", "Looks like a corrupt region file: NOTE-ONLY")
    page.click("#note button[type=submit]")
    page.wait_for_load_state()
    page.fill("#reply textarea[name=body]", "Please try restoring yesterday's backup.")
    page.click("#reply button[type=submit]")
    page.wait_for_load_state()
    screenshot("support-staff-ticket")
    assert "Reply sent" in page.inner_text("body")
    page.get_by_role("link", name="Client area").click()
    log_out(page)

    mail = smtp.last_to(CUSTOMER)
    text = smtp.text(mail)
    assert "Please try restoring yesterday's backup." in text and "NOTE-ONLY" not in text
    link = smtp.link_to(CUSTOMER, "/support/reply/")
    anonymous = browser.new_context().new_page()  # straight from the email, not logged in
    anonymous.goto(local(link, base))
    main = anonymous.inner_text("main")
    assert "restoring yesterday's backup" in main and "NOTE-ONLY" not in main
    anonymous.fill("#reply textarea[name=body]", "Restored it, it works now. Thanks!")
    anonymous.click("#reply button[type=submit]")
    anonymous.wait_for_load_state()
    assert "Your reply was sent." in anonymous.inner_text("main")
    anonymous.context.close()

    log_in(page, base, AGENT)
    page.goto(f"{base}/admin/support/tickets/{ticket_id}")
    assert "Restored it, it works now." in page.inner_text("body")
    page.click("#close button[type=submit]")
    page.wait_for_load_state()
    assert page.inner_text("#ticket-status") == "closed"
    closed = smtp.last_to(CUSTOMER)
    assert "Ticket closed" in str(closed["Subject"])
    assert page.js_errors == [], page.js_errors
