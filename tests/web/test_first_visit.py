"""What a first-time visitor sees: a way to register from the landing page, the site's own
name on every page (the error pages too)."""

from __future__ import annotations

from kernel import site_settings


def test_landing_page_offers_register_and_log_in(client):
    page = client.get("/")
    assert page.status_code == 200
    assert 'href="/register"' in page.text and "Create an account" in page.text
    assert 'href="/login"' in page.text


def test_no_register_button_when_registration_is_closed(app, client):
    with app.app_context():
        site_settings.set_many({"registration_enabled": False})
    page = client.get("/")
    assert 'href="/register"' not in page.text and 'href="/login"' in page.text


def test_error_pages_carry_the_site_name(app, client):
    with app.app_context():
        site_settings.set_many({"site_name": "Blockhost"})
    page = client.get("/no-such-page")
    assert page.status_code == 404
    assert "<title>404 · Blockhost</title>" in page.text
    assert "· pteroca</title>" not in page.text
