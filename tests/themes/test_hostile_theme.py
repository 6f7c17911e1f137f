"""The attack test, replayed: a theme whose pages carry the attack's expressions, over HTTP.

The dashboard, the landing page and an email of an active hostile theme try to print the
database URL and the password hashes and to make the customer an admin. Each page is refused
by the sandbox and the default theme's page is served instead; nothing secret reaches the
response or the email, and the database is the same before and after.
"""

from __future__ import annotations

import logging

import pytest

from kernel.extensions import db
from kernel.testing import login
from tests.admin.conftest import PASSWORD
from tests.helpers import make_theme
from tests.themes.reach import snapshot

ATTACK = [  # the attack test's expressions, as it wrote them
    "{{ current_user.query.session.get_bind().url.render_as_string(hide_password=False) }}",
    "{% for u in current_user.query.all() %}{{ u.email }}:{{ u.password_hash }} {% endfor %}",
    "{% for m in current_user.registry.mappers %}{{ m.class_.__name__ }}: "
    "{{ m.class_.query.all() }} {% endfor %}",
    "{% set t = current_user.metadata.tables['user'] %}"
    "{{ current_user.query.session.execute(t.update().where(t.c.id == current_user.id)"
    ".values(role_name='admin')) }}{{ current_user.query.session.commit() }}",
]
LANDING_ATTACK = [  # a visitor's page: what globals could lead anywhere
    "{{ config.__class__ }}",
    "{{ request.environ }}",
    "{{ request.application }}",
    "{{ session.__class__ }}",
    "{{ g.__dict__ }}",
    "{{ url_for.__self__.config }}",
    "{{ get_flashed_messages.__globals__ }}",
    "{{ cycler.__init__.__globals__.os }}",
    "{{ lipsum.__globals__['os'] }}",
    "{{ self._TemplateReference__context }}",
    "{{ csrf_token.__globals__ }}",
    "{{ current_user.__class__.__mro__ }}",
]
LEAK_MARKERS = (
    "$argon2",
    "sqlite",
    "postgresql",
    "test-secret-key",
    "SECRET_KEY",
    "pwned",
    "Traceback",
    "<class",
)


def page_of(source: str) -> str:
    return (
        '{% extends "panel/layout.html" %}{% block content %}<p>pwned '
        + source
        + "</p>{% endblock %}"
    )


def table_rows(app):
    with app.app_context():
        rows = snapshot(db.session)
        db.session.remove()
    return rows


def roles(app) -> dict[str, str]:
    from kernel.accounts.models import User

    with app.app_context():
        found = dict(db.session.execute(db.select(User.email, User.role_name)).all())
        db.session.remove()
    return found


def assert_clean(text: str) -> None:
    leaked = [marker for marker in LEAK_MARKERS if marker in text]
    assert leaked == [], leaked


@pytest.mark.parametrize("source", ATTACK)
def test_hostile_dashboard(app, fresh, users, caplog, source):
    make_theme(app, "evil", {"panel/dashboard.html": page_of(source)})
    app = fresh(app)
    client = app.test_client()
    login(client, users["customer"], PASSWORD)
    before, roles_before = table_rows(app), roles(app)
    with caplog.at_level(logging.ERROR):
        response = client.get("/dashboard")
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "Welcome, Customer" in page  # the default page
    assert_clean(page)
    assert users["admin"] not in page  # another user's address
    assert any("is not available to theme templates" in r.getMessage() for r in caplog.records)
    assert table_rows(app) == before and roles(app) == roles_before
    assert roles(app)[users["customer"]] == "customer"


@pytest.mark.parametrize("source", LANDING_ATTACK)
def test_hostile_landing_page(app, fresh, users, source):
    make_theme(app, "evil", {"landing/index.html": page_of(source)})
    app = fresh(app)
    before = table_rows(app)
    response = app.test_client().get("/")
    assert response.status_code == 200
    assert_clean(response.get_data(as_text=True))
    assert table_rows(app) == before


def test_hostile_email(app, fresh, users, tmp_path):
    """The password-reset email of a hostile theme: the default theme's email goes out."""
    attack = " ".join(ATTACK) + " {{ user.password_hash }} {{ user.query.all() }}"
    make_theme(
        app,
        "evil",
        {
            "email/password_reset.txt": "pwned " + attack,
            "email/password_reset.html": "<p>pwned " + attack + "</p>",
        },
    )
    mailbox = tmp_path / "mail.mbox"
    app.config["PTEROCA_BUILD_CONFIG"]["MAIL_URL"] = f"file://{mailbox}"
    app = fresh(app)
    roles_before = roles(app)
    response = app.test_client().post("/forgot-password", data={"email": users["customer"]})
    assert response.status_code == 200
    mail = mailbox.read_text()
    assert "/reset-password/" in mail  # the default theme's email was sent
    assert_clean(mail)
    assert roles(app) == roles_before
