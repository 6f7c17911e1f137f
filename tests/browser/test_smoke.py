"""The live server and the browser work together: log in and see the dashboard."""

from kernel.accounts.services import create_user


def test_login_reaches_dashboard(live_app, live_server, page):
    with live_app.app_context():
        create_user("walker@example.com", "walking-password-1", name="Walker")
    page.goto(f"{live_server}/login")
    page.fill("input[name=email]", "walker@example.com")
    page.fill("input[name=password]", "walking-password-1")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server}/dashboard")
    assert "Walker" in page.inner_text("body")
    assert page.js_errors == []
