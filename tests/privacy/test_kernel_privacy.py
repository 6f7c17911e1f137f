"""The kernel's privacy machinery on its own: hooks' error boundaries, catch-up, retention,
the export's refusals, the rules of who may ask."""

from __future__ import annotations

import io
import zipfile
from datetime import timedelta

import pytest

from kernel.clock import now as utcnow
from kernel.extensions import db
from kernel.mail import EmailLog
from kernel.models import AuditLog
from kernel.privacy import erasure, export, retention
from kernel.privacy.models import DataExport, ErasureRequest
from kernel.testing import login
from tests.helpers import PASSWORD, make_user, write_plugin


def _archive(app, export_id):
    with app.app_context():
        row = db.session.get(DataExport, export_id)
        data = (export.exports_dir() / row.filename).read_bytes()
        return row.missing, zipfile.ZipFile(io.BytesIO(data))


PLUGIN = """
import datetime

from kernel import hookimpl


@hookimpl
def personal_data(user):
    return {"notes": [{"owner": user.email, "when": datetime.date(2026, 1, 2)}],
            "../escape": "x", "bad": object()}
"""


def test_plugin_answers_are_checked_and_failures_named_in_the_readme(app, plugins_dir, cli, fresh):
    write_plugin(plugins_dir, "notes", PLUGIN, capabilities=["privacy"])
    write_plugin(
        plugins_dir,
        "broken",
        """
        from kernel import hookimpl

        @hookimpl
        def personal_data(user):
            raise RuntimeError("no")
    """,
        capabilities=["privacy"],
    )
    for name in ("notes", "broken"):
        assert cli("plugin", "enable", name).exit_code == 0
    app = fresh(app)
    with app.test_request_context():
        user = make_user("ann@example.com")
        made = export.request_export(user).id
    missing, archive = _archive(app, made)
    assert "plugins/notes/notes.json" in archive.namelist()
    assert '"2026-01-02"' in archive.read("plugins/notes/notes.json").decode()
    readme = archive.read("README.txt").decode()
    assert "broken" in readme and "notes/bad" in readme and "notes/../escape" in readme
    assert not any(".." in name for name in archive.namelist())
    assert "broken" in missing


def test_a_plugin_enabled_after_an_erasure_is_asked_to_catch_up(app, plugins_dir, cli, fresh):
    with app.test_request_context():
        user = make_user("gone@example.com")
        user_id = user.id
        request = erasure.schedule_by_staff(user, actor="dpo", immediately=True)
        erasure.erase(request.id, now=utcnow() + timedelta(seconds=1))
    write_plugin(
        plugins_dir,
        "late",
        """
        from kernel import hookimpl, record_audit

        @hookimpl
        def erase_personal_data(user):
            record_audit("late.erased", f"user:{user.id}")
    """,
        capabilities=["privacy"],
    )
    assert cli("plugin", "enable", "late").exit_code == 0
    app = fresh(app)
    with app.test_request_context():
        assert erasure.run_due(utcnow())["caught_up"] == 1
        assert erasure.run_due(utcnow())["caught_up"] == 0  # once
        done = db.session.scalars(db.select(ErasureRequest)).one()
        assert "late" in done.erased_by
        assert db.session.scalars(
            db.select(AuditLog.target).where(AuditLog.action == "late.erased")
        ).all() == [f"user:{user_id}"]


def test_retention_prunes_old_log_entries_only(app):
    from kernel import site_settings

    with app.app_context():
        now = utcnow()
        for days in (400, 100, 10):
            db.session.add(
                AuditLog(
                    action="old.thing", target=f"{days}", created_at=now - timedelta(days=days)
                )
            )
            db.session.add(
                EmailLog(
                    recipient=f"{days}@example.com",
                    subject="s",
                    template="t",
                    status="sent",
                    error="",
                    created_at=now - timedelta(days=days),
                )
            )
        db.session.commit()
        assert retention.prune_logs(now, batch=1) == {"audit_log": 1, "email_log": 2}
        assert sorted(
            db.session.scalars(db.select(AuditLog.target).where(AuditLog.action == "old.thing"))
        ) == ["10", "100"]
        assert db.session.scalars(db.select(EmailLog.recipient)).all() == ["10@example.com"]
        site_settings.set_many({"audit_log_retention_days": 0, "email_log_retention_days": 0})
        assert retention.prune_logs(now + timedelta(days=1000)) == {}
        with pytest.raises(Exception, match="cannot be negative"):
            site_settings.set_many({"email_log_retention_days": -1})


def test_cron_registers_the_privacy_tasks(app):
    from kernel.cron import registered_tasks

    with app.app_context():
        tasks = registered_tasks()
    assert tasks["kernel.privacy"].func is erasure.run_due
    assert tasks["kernel.prune_logs"].func is retention.prune_logs


def test_staff_cannot_erase_themselves_from_the_account_page(app):
    with app.app_context():
        make_user("boss@example.com", role="admin")
    client = app.test_client()
    login(client, "boss@example.com", PASSWORD)
    refused = client.post(
        "/account/delete", data={"confirm": "boss@example.com", "password": PASSWORD}
    )
    assert refused.status_code == 400 and "another administrator" in refused.text


def test_an_account_without_password_confirms_with_a_fresh_login(app):
    from kernel.accounts.services import create_user

    with app.app_context():
        create_user("nopass@example.com", None, name="No Pass", verified=True)
    client = app.test_client()
    # log in the way a linked identity would: through the kernel's login completion
    with app.test_request_context():
        from flask import session as flask_session

        from kernel.accounts.login_flow import AUTHENTICATED_AT, finish_login
        from kernel.accounts.services import find_user

        finish_login(find_user("nopass@example.com"), method="oauth:test")
        cookie_session = dict(flask_session)
    with client.session_transaction() as session:
        session.update(cookie_session)
        session[AUTHENTICATED_AT] = (utcnow() - timedelta(minutes=30)).timestamp()
    stale = client.post("/account/delete", data={"confirm": "nopass@example.com"})
    assert stale.status_code == 400 and "log in again" in stale.text
    with client.session_transaction() as session:
        session[AUTHENTICATED_AT] = utcnow().timestamp()
    assert client.post("/account/delete", data={"confirm": "nopass@example.com"}).status_code == 302


def test_erased_addresses_cannot_be_registered(app):
    from kernel.accounts.services import AccountError, create_user

    with app.app_context(), pytest.raises(AccountError):
        create_user("erased-1-abcd@erased.invalid", PASSWORD)
