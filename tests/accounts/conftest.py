from __future__ import annotations

import pytest

from kernel.testing import build_app
from tests.helpers import make_user


@pytest.fixture
def app(instance, plugins_dir, smtp_server):
    """Accounts tests send real mail to the fake SMTP server."""
    return build_app(instance, MAIL_URL=smtp_server.url, BASE_URL="http://panel.test")


@pytest.fixture
def user(app):
    with app.app_context():
        make_user("user@example.com", name="Uma")
    return "user@example.com"


def set_settings(app, **values):
    from kernel import site_settings

    with app.app_context():
        site_settings.set_many(values)


def get_user(app, email):
    from kernel.accounts.services import find_user

    with app.app_context():
        user = find_user(email)
        if user is not None:
            from kernel.extensions import db

            db.session.expunge(user)
        return user


def audit_actions(app, target=None):
    from kernel.extensions import db
    from kernel.models import AuditLog

    with app.app_context():
        query = db.select(AuditLog.action).order_by(AuditLog.id)
        if target:
            query = query.where(AuditLog.target == target)
        return list(db.session.scalars(query))
