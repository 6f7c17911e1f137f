"""The admin reads a kept message (console:// and file:// transports) in the email log, links
included: how the demo shows verification and reset mails without a mail server."""

from __future__ import annotations

import re

import pytest

from kernel.extensions import db
from kernel.mail import EmailLog, send_email
from kernel.testing import build_app

LINK = "https://panel.test/verify-email/abc?x=1&y=2"


class _User:
    __template_fields__ = ("name", "email")
    name = "Pat"
    email = "pat@example.com"


def _send(app) -> int:
    with app.test_request_context():
        return send_email(
            "pat@example.com", "Confirm it", "verify_email", user=_User(), link=LINK, hours=72
        ).id


@pytest.fixture(params=["console://", "file"])
def pteroca_config(request, tmp_path):
    url = request.param if request.param != "file" else f"file://{tmp_path}/outbox.mbox"
    return {"MAIL_URL": url, "BASE_URL": "https://panel.test"}


def test_admin_reads_the_whole_message_with_its_link(pteroca_instance, login_as):
    app = pteroca_instance.app
    entry_id = _send(app)
    with app.app_context():
        assert LINK in db.session.get(EmailLog, entry_id).body
    admin = login_as("admin")
    listing = admin.get("/admin/emails/")
    assert f"/admin/emails/details/?id={entry_id}" in listing.text
    page = admin.get(f"/admin/emails/details/?id={entry_id}")
    assert page.status_code == 200
    assert (
        '<a href="https://panel.test/verify-email/abc?x=1&amp;y=2" rel="noreferrer">' in page.text
    )
    assert "Pat" in page.text  # the greeting: the text the customer reads


def test_smtp_messages_are_not_kept(smtp_server, instance, plugins_dir):
    app = build_app(instance, MAIL_URL=smtp_server.url, BASE_URL="https://panel.test")
    entry_id = _send(app)
    with app.app_context():
        assert db.session.get(EmailLog, entry_id).body == ""


def test_a_message_body_cannot_inject_markup(pteroca_instance, login_as):
    with pteroca_instance.app.app_context():
        db.session.add(
            EmailLog(
                recipient="x@example.com",
                subject="s",
                template="t",
                body='<script>alert(1)</script> http://a.test/"><img src=x>',
            )
        )
        db.session.commit()
    page = login_as("admin").get("/admin/emails/details/?id=1").text
    assert "<script>alert(1)" not in page and "<img src=x>" not in page
    assert re.search(r'<a href="http://a.test/" rel="noreferrer">', page)
