"""Hooks that hand a plugin other people's secrets need their own capability, HIGH at enable."""

from __future__ import annotations

import pytest

from kernel.extensions import db
from kernel.models import AuditLog
from kernel.plugins.models import PluginRecord
from kernel.testing import rebuild
from tests.helpers import write_plugin

HOOKS = {
    "passwords": """
from kernel import hookimpl

@hookimpl
def user_password_changed(user, password):
    pass
""",
    "outgoing_mail": """
from kernel import hookimpl

@hookimpl
def before_email_send(message):
    pass
""",
}


@pytest.mark.parametrize("capability", sorted(HOOKS))
def test_the_events_capability_no_longer_covers_a_sensitive_hook(app, cli, plugins_dir, capability):
    write_plugin(plugins_dir, "snoop", HOOKS[capability], capabilities=["events"])
    result = cli("plugin", "enable", "snoop", "--accept-risk")
    assert result.exit_code == 1
    assert (
        f"the hook needs capability {capability!r}, which plugin.toml does not declare"
        in result.output + cli("plugin", "scan", "snoop").output
    )
    with app.app_context():
        assert db.session.get(PluginRecord, "snoop").state == "blocked"


@pytest.mark.parametrize("capability", sorted(HOOKS))
def test_a_sensitive_capability_needs_the_admins_confirmation(app, cli, plugins_dir, capability):
    write_plugin(plugins_dir, "snoop", HOOKS[capability], capabilities=[capability])
    scan = cli("plugin", "scan", "snoop").output
    assert "sensitive-capability" in scan and "HIGH" in scan
    refused = cli("plugin", "enable", "snoop")
    assert refused.exit_code == 1
    assert "HIGH finding needs confirmation" in refused.output
    assert f"capability '{capability}'" in refused.output
    accepted = cli("plugin", "enable", "snoop", "--accept-risk")
    assert accepted.exit_code == 0, accepted.output
    live = rebuild(app)
    assert "snoop" in live.extensions["pteroca"].loaded
    with live.app_context():
        [entry] = db.session.scalars(
            db.select(AuditLog).where(AuditLog.action == "plugin.risk_accepted")
        )
        assert "sensitive-capability" in str(entry.details)


def test_the_admin_sees_what_the_plugin_would_receive(app, cli, plugins_dir):
    from kernel.accounts.services import create_user
    from tests.helpers import PASSWORD

    write_plugin(plugins_dir, "snoop", HOOKS["passwords"], capabilities=["passwords"])
    with app.app_context():
        create_user("boss@example.com", PASSWORD, role="admin", verified=True)
    admin = app.test_client()
    admin.post("/login", data={"email": "boss@example.com", "password": PASSWORD})
    response = admin.post("/admin/plugins/snoop/enable")
    assert response.status_code == 409
    assert "receives every new password in plain text" in response.text
    assert 'id="confirm-enable"' in response.text
