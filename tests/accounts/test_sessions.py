"""Login sessions live on the server (kernel/accounts/sessions.py): logging out ends them."""

from __future__ import annotations

from datetime import timedelta

from kernel.accounts.models import LoginSession
from kernel.extensions import db
from tests.helpers import post_login


def copy_of(app, client, *names):
    """A second browser holding copies of ``client``'s cookies (stolen, or a second tab)."""
    other = app.test_client()
    for name in names:
        cookie = client.get_cookie(name)
        assert cookie is not None, name
        other.set_cookie(name, cookie.value)
    return other


def open_sessions(app) -> int:
    with app.app_context():
        count = db.session.scalar(
            db.select(db.func.count(LoginSession.id)).where(LoginSession.ended_at.is_(None))
        )
        db.session.remove()
    return count


def test_a_cookie_copied_before_logout_is_refused_after_it(app, client, user):
    post_login(client)
    copy = copy_of(app, client, "session")
    assert copy.get("/dashboard").status_code == 200  # the copy works while the session lives
    assert client.post("/logout").status_code == 302
    refused = copy.get("/dashboard")
    assert refused.status_code == 302 and "/login" in refused.headers["Location"]
    assert open_sessions(app) == 0


def test_a_copied_remember_me_cookie_is_refused_after_logout(app, client, user):
    post_login(client, remember="1")
    stolen = client.get_cookie("remember_token").value
    thief = app.test_client()
    thief.set_cookie("remember_token", stolen)
    assert thief.get("/dashboard").status_code == 200  # a remember cookie logs in alone
    client.post("/logout")
    later = app.test_client()
    later.set_cookie("remember_token", stolen)
    assert later.get("/dashboard").status_code == 302
    assert thief.get("/dashboard").status_code == 302  # and the session it opened is over


def test_logging_out_one_browser_keeps_the_others(app, user):
    laptop, phone = app.test_client(), app.test_client()
    post_login(laptop)
    post_login(phone)
    assert open_sessions(app) == 2
    laptop.post("/logout")
    assert laptop.get("/dashboard").status_code == 302
    assert phone.get("/dashboard").status_code == 200
    assert open_sessions(app) == 1


def test_a_session_cookie_without_a_login_session_is_refused(app, client, user):
    """A cookie signed with the secret key but naming no open session (from before sessions
    were kept, or made up) logs nobody in."""
    from flask.sessions import SecureCookieSessionInterface

    from kernel.accounts.services import find_user

    with app.app_context():
        user_id = find_user(user).id
    serializer = SecureCookieSessionInterface().get_signing_serializer(app)
    for forged in (
        f"{user_id}:0",
        f"{user_id}:0:made-up-token",
        f"{user_id}:0:",
        f"{'9' * 40}:0:x",
        "x:y:z",
        "",
    ):
        browser = app.test_client()
        browser.set_cookie("session", serializer.dumps({"_user_id": forged, "_fresh": True}))
        assert browser.get("/dashboard").status_code == 302, forged


def test_a_blocked_user_s_session_is_ended(app, client, user):
    from kernel.accounts.services import find_user

    post_login(client)
    copy = copy_of(app, client, "session")
    with app.app_context():
        find_user(user).is_blocked = True
        db.session.commit()
    client.get("/dashboard")  # the guard logs the blocked user out
    with app.app_context():
        find_user(user).is_blocked = False
        db.session.commit()
    assert copy.get("/dashboard").status_code == 302


def test_old_and_ended_sessions_are_pruned(app, user):
    from kernel.accounts.sessions import prune
    from kernel.clock import now as utcnow

    browsers = [app.test_client() for _ in range(3)]
    for browser in browsers:
        post_login(browser)
    browsers[0].post("/logout")
    with app.app_context():
        newest = db.session.scalars(
            db.select(LoginSession).order_by(LoginSession.created_at)
        ).all()[-1]  # the third browser's
        newest.created_at = utcnow() - timedelta(days=400)  # beyond the remember-me duration
        db.session.commit()
    assert browsers[2].get("/dashboard").status_code == 302  # expired: refused before pruning
    with app.app_context():
        assert prune() == 2
        assert db.session.scalar(db.select(db.func.count(LoginSession.id))) == 1
    assert browsers[1].get("/dashboard").status_code == 200
