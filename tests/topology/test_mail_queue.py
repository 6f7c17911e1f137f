"""With Redis, mail is rendered in the request and delivered by a worker, with retries."""

from __future__ import annotations

from kernel import jobs
from kernel.extensions import db
from kernel.mail import EmailLog, send_email
from kernel.testing import build_app
from tests.topology.conftest import env_for, pteroca


class _User:
    __template_fields__ = ("name", "email")  # what email templates may read of it
    name = "Pat"
    email = "pat@example.com"


def send(app, **kwargs):
    with app.test_request_context():
        entry = send_email(
            "pat@example.com",
            "Hi",
            "email_changed",
            user=_User(),
            old_email="a@x.test",
            new_email="b@x.test",
            **kwargs,
        )
        return entry.id, entry.status


def log_entry(app, entry_id):
    with app.app_context():
        entry = db.session.get(EmailLog, entry_id)
        return entry.status, entry.error


def burst(app):
    result = pteroca(env_for(app), "worker", "--burst")
    assert result.returncode == 0, result.stderr


def test_queued_mail_is_delivered_by_the_worker(instance, plugins_dir, redis_url, smtp_server):
    app = build_app(instance, REDIS_URL=redis_url, MAIL_URL=smtp_server.url)
    entry_id, status = send(app)
    assert status == "queued" and smtp_server.messages == []
    with app.app_context():
        [job] = jobs.queue("mail").get_jobs()
        assert job.func_name == "kernel.mail_delivery.deliver_queued" and job.args[0] == entry_id
    burst(app)
    [message] = smtp_server.messages
    assert message["To"] == "pat@example.com" and message["Subject"] == "Hi"
    assert "b@x.test" in message.get_body(("plain",)).get_content()
    assert log_entry(app, entry_id) == ("sent", "")


def test_refused_mail_is_retried_with_backoff(instance, plugins_dir, redis_url):
    app = build_app(instance, REDIS_URL=redis_url, MAIL_URL="smtp://127.0.0.1:9")
    entry_id, status = send(app)
    assert status == "queued"
    burst(app)
    status, error = log_entry(app, entry_id)
    assert status == "failed" and "ConnectionRefusedError" in error
    with app.app_context():
        [job_id] = jobs.queue("mail").scheduled_job_registry.get_job_ids()
        job = jobs.queue("mail").fetch_job(job_id)
        assert job.get_status() == "scheduled" and job.retries_left == 3  # 4 tries left: 30 s..


def test_now_and_batches_deliver_in_place(instance, plugins_dir, redis_url, smtp_server):
    app = build_app(instance, REDIS_URL=redis_url, MAIL_URL=smtp_server.url)
    assert send(app, now=True)[1] == "sent"
    with app.test_request_context():
        entry = send_email(
            "pat@example.com",
            "Hi",
            "email_changed",
            user=_User(),
            commit=False,
            old_email="a@x.test",
            new_email="b@x.test",
        )
        db.session.commit()
        assert entry.status == "sent"
    assert len(smtp_server.messages) == 2


def test_redis_away_sends_at_once(instance, plugins_dir, smtp_server):
    app = build_app(instance, REDIS_URL="redis://127.0.0.1:9/0", MAIL_URL=smtp_server.url)
    entry_id, status = send(app)
    assert status == "sent" and len(smtp_server.messages) == 1
    assert log_entry(app, entry_id) == ("sent", "")
