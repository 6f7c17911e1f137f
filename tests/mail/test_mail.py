"""kernel.mail: theme templates, transports, the email log, the ``before_email_send`` hook."""

from __future__ import annotations

import pytest

from kernel.extensions import db
from kernel.mail import EmailLog, send_email
from kernel.testing import build_app
from tests.helpers import write_plugin


def log_entries(app):
    with app.app_context():
        return [
            (e.recipient, e.template, e.status, e.error)
            for e in db.session.scalars(db.select(EmailLog).order_by(EmailLog.id))
        ]


@pytest.fixture
def smtp_app(instance, plugins_dir, smtp_server):
    return build_app(instance, MAIL_URL=smtp_server.url, BASE_URL="https://panel.test")


class _User:
    __template_fields__ = ("name", "email")  # what email templates may read of it
    name = "Pat"
    email = "pat@example.com"


def test_smtp_delivery_with_text_and_html(smtp_app, smtp_server):
    with smtp_app.test_request_context():
        entry = send_email(
            "pat@example.com",
            "Confirm it",
            "verify_email",
            user=_User(),
            link="https://panel.test/verify-email/abc",
            hours=72,
        )
        assert entry.status == "sent"
    message = smtp_server.last_to("pat@example.com")
    assert message["Subject"] == "Confirm it"
    assert message["From"] == "pteroca <no-reply@localhost>"
    assert "https://panel.test/verify-email/abc" in smtp_server.text(message)
    html = message.get_body(preferencelist=("html",)).get_content()
    assert '<a href="https://panel.test/verify-email/abc">' in html
    assert log_entries(smtp_app) == [("pat@example.com", "verify_email", "sent", "")]


def test_attachments_travel_with_text_and_html(smtp_app, smtp_server):
    pdf = b"%PDF-1.7 not really\x00\xff"
    with smtp_app.test_request_context():
        entry = send_email(
            "pat@example.com",
            "Your invoice",
            "verify_email",
            user=_User(),
            link="https://panel.test/verify-email/abc",
            hours=72,
            attachments=[("INV-2026-000001.pdf", "application/pdf", pdf)],
        )
        assert entry.status == "sent"
    message = smtp_server.last_to("pat@example.com")
    [attachment] = list(message.iter_attachments())
    assert attachment.get_filename() == "INV-2026-000001.pdf"
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_content() == pdf
    assert "https://panel.test/verify-email/abc" in smtp_server.text(message)
    assert message.get_body(preferencelist=("html",)) is not None


def test_from_address_comes_from_site_settings(smtp_app, smtp_server):
    from kernel import site_settings

    with smtp_app.test_request_context():
        site_settings.set_many({"mail_from": "billing@host.test", "mail_from_name": "Host Co"})
        send_email(
            "pat@example.com",
            "Hi",
            "email_changed",
            user=_User(),
            old_email="a@x.test",
            new_email="b@x.test",
        )
    assert smtp_server.last_to("pat@example.com")["From"] == "Host Co <billing@host.test>"


def test_smtp_down_is_logged_not_raised(instance, plugins_dir):
    app = build_app(instance, MAIL_URL="smtp://127.0.0.1:9")
    with app.test_request_context():
        entry = send_email(
            "pat@example.com",
            "Hi",
            "email_changed",
            user=_User(),
            old_email="a@x.test",
            new_email="b@x.test",
        )
        assert entry.status == "failed"
    [(to, template, status, error)] = log_entries(app)
    assert (to, template, status) == ("pat@example.com", "email_changed", "failed")
    assert "ConnectionRefusedError" in error


def test_file_transport_appends(instance, plugins_dir, tmp_path):
    box = tmp_path / "mail" / "outbox.mbox"
    app = build_app(instance, MAIL_URL=f"file://{box}")
    with app.test_request_context():
        for n in range(2):
            send_email(
                "pat@example.com",
                f"Number {n}",
                "email_changed",
                user=_User(),
                old_email="a@x.test",
                new_email="b@x.test",
            )
    text = box.read_text()
    assert "Subject: Number 0" in text and "Subject: Number 1" in text


def test_console_transport_logs(app, caplog):
    with app.test_request_context(), caplog.at_level("INFO"):
        entry = send_email(
            "pat@example.com",
            "Logged",
            "email_changed",
            user=_User(),
            old_email="a@x.test",
            new_email="b@x.test",
        )
        assert entry.status == "sent"
    assert "Subject: Logged" in caplog.text


def test_unknown_transport_is_a_logged_failure(instance, plugins_dir):
    app = build_app(instance, MAIL_URL="carrier-pigeon://coop")
    with app.test_request_context():
        entry = send_email(
            "pat@example.com",
            "Hi",
            "email_changed",
            user=_User(),
            old_email="a@x.test",
            new_email="b@x.test",
        )
        assert entry.status == "failed" and "carrier-pigeon" in entry.error


def test_missing_template_is_a_logged_failure(app):
    with app.test_request_context():
        entry = send_email("pat@example.com", "Hi", "no_such_template")
        assert entry.status == "failed" and "TemplateNotFound" in entry.error


def test_before_email_send_plugin_can_change_the_message(
    instance, plugins_dir, smtp_server, cli, fresh
):
    write_plugin(
        plugins_dir,
        "stamp",
        """
from kernel import hookimpl

@hookimpl
def before_email_send(message):
    message["X-Stamp"] = "stamped"
    subject = message["Subject"]
    del message["Subject"]
    message["Subject"] = "[Host] " + subject
""",
        capabilities=["outgoing_mail"],
    )
    assert cli("plugin", "enable", "stamp", "--accept-risk").exit_code == 0
    app = build_app(instance, MAIL_URL=smtp_server.url)
    with app.test_request_context():
        send_email(
            "pat@example.com",
            "Hi",
            "email_changed",
            user=_User(),
            old_email="a@x.test",
            new_email="b@x.test",
        )
    message = smtp_server.last_to("pat@example.com")
    assert message["X-Stamp"] == "stamped" and message["Subject"] == "[Host] Hi"
    assert log_entries(app)[-1][2] == "sent"
