"""What other plugins get: the public module and the linked/unlinked events (a Discord role
sync, say), exercised by a drop-in plugin that requires oauth_login."""

from __future__ import annotations

from kernel.extensions import db
from kernel.models import AuditLog
from kernel.testing import run_cli
from tests.helpers import write_plugin
from tests.oauth_login.conftest import Browser

LISTENER = """
from kernel import hookimpl, record_audit


@hookimpl
def oauth_login_identity_linked(user, identity):
    from builtin_plugins.oauth_login.api import identity_for

    mine = identity_for(user.id, identity.provider)
    record_audit("rolesync.grant", identity.subject, {"seen": mine.subject, "user": user.id})


@hookimpl
def oauth_login_identity_unlinked(user, identity):
    record_audit("rolesync.revoke", identity.subject, {"user": user.id})
"""


def test_a_plugin_hears_links_and_reads_identities(oauth_app, oauth_simulator, fresh, member):
    write_plugin(
        oauth_app.config["PLUGINS_DIR"],
        "rolesync",
        LISTENER,
        capabilities=["oauth_login_identity_linked", "oauth_login_identity_unlinked"],
        requires={"oauth_login": ">=1.0"},
    )

    result = run_cli(oauth_app, "plugin", "enable", "rolesync")
    assert result.exit_code == 0, result.output
    app = fresh(oauth_app)
    browser = Browser(app, oauth_simulator)
    browser.password_login("member@example.com")
    oauth_simulator.sign_in_as("123456789", "m@example.com", username="mem")
    assert browser.roundtrip("discord", purpose="link").status_code == 302
    assert browser.client.post("/oauth/discord/unlink").status_code == 302
    with app.app_context():
        from builtin_plugins.oauth_login.api import identity_for, linked_identities, user_id_for

        rows = [
            (a.action, a.target, a.details)
            for a in db.session.scalars(
                db.select(AuditLog).where(AuditLog.action.like("rolesync.%")).order_by(AuditLog.id)
            )
        ]
        assert rows == [
            ("rolesync.grant", "123456789", {"seen": "123456789", "user": member}),
            ("rolesync.revoke", "123456789", {"user": member}),
        ]
        assert linked_identities(member) == [] and identity_for(member, "discord") is None
        assert user_id_for("discord", "123456789") is None
