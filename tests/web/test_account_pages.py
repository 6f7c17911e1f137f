"""The client shell's account pages and the kernel's dashboard widgets."""

from __future__ import annotations

import pytest
from flask_babel import get_locale
from flask_login import login_user

from kernel import site_settings
from kernel.accounts.services import find_user
from kernel.extensions import db
from tests.helpers import PASSWORD, make_user, post_login


@pytest.fixture
def client_in(app):
    with app.app_context():
        make_user("user@example.com", name="Uma")
    client = app.test_client()
    assert post_login(client).status_code == 302
    return client


def test_account_page_needs_login(client):
    assert "/login" in client.get("/account").headers["Location"]


def test_account_page_shows_every_section(client_in):
    page = client_in.get("/account").text
    for action in ("/account/profile", "/account/password", "/account/email", "/account/2fa"):
        assert f'"{action}"' in page
    assert 'value="Uma"' in page and 'option value="pl"' in page
    assert 'href="/account"' in client_in.get("/dashboard").text  # in the menu


def test_profile_name_and_language(app, client_in):
    bad = client_in.post("/account/profile", data={"name": "Uma", "language": "xx"})
    assert bad.status_code == 400 and "offered languages" in bad.text
    assert client_in.post("/account/profile", data={"name": " ", "language": ""}).status_code == 400
    response = client_in.post("/account/profile", data={"name": "Uma Thurman", "language": "pl"})
    assert response.status_code == 302
    with app.app_context():
        user = find_user("user@example.com")
        assert (user.name, user.language) == ("Uma Thurman", "pl")
    assert '<html lang="pl"' in client_in.get("/account").text  # the page follows the choice


def test_locale_follows_the_user_then_the_browser(app):
    with app.app_context():
        make_user("pl@example.com", language="pl")
        make_user("auto@example.com")
    with app.test_request_context("/", headers={"Accept-Language": "de, pl;q=0.8"}):
        assert str(get_locale()) == "pl"
    with app.test_request_context("/", headers={"Accept-Language": "de"}):
        assert str(get_locale()) == "en"
    with app.test_request_context("/", headers={"Accept-Language": "en"}):
        login_user(db.session.merge(find_user("pl@example.com")))
        assert str(get_locale()) == "pl"
    with app.test_request_context("/", headers={"Accept-Language": "pl"}):
        login_user(find_user("auto@example.com"))
        assert str(get_locale()) == "pl"


def test_motd_widget(app, client_in):
    assert "Message of the day" not in client_in.get("/dashboard").text
    with app.app_context():
        site_settings.set_many({"motd": "Maintenance on <Sunday>"})
    page = client_in.get("/dashboard").text
    assert "Message of the day" in page and "Maintenance on &lt;Sunday&gt;" in page


def test_recent_activity_widget_shows_only_own_entries(app, client_in):
    with app.app_context():
        make_user("other@example.com")
    post_login(app.test_client(), "other@example.com", "wrong password here")
    post_login(app.test_client(), "user@example.com", "wrong password here")
    page = client_in.get("/dashboard").text
    assert "Recent activity" in page
    assert "Logged in" in page and "Failed login attempt" in page
    activity = page.split("Recent activity", 1)[1]
    assert activity.count("Failed login attempt") == 1  # not the other user's


def test_no_verification_banner_for_verified_users(client_in):
    assert "Resend the confirmation email" not in client_in.get("/dashboard").text


def test_password_change_fires_event_and_keeps_session(app, client_in):
    response = client_in.post(
        "/account/password",
        data={
            "current_password": PASSWORD,
            "new_password": "another good password",
            "confirm": "another good password",
        },
    )
    assert response.status_code == 302
    assert client_in.get("/account").status_code == 200
