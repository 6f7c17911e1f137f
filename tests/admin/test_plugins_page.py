"""The plugins page: actions call the plugin services; refusals are 4xx flashes."""

from __future__ import annotations

from werkzeug.test import Client

from kernel.extensions import db
from kernel.models import AuditLog
from kernel.plugins.models import PluginRecord
from kernel.testing import rebuild
from kernel.wsgi import HotSwapApplication
from tests.admin.conftest import PASSWORD
from tests.helpers import page_plugin, write_plugin

RISKY = """
import pickle  # bandit B403: HIGH in our policy

from flask import Blueprint
from kernel import hookimpl

bp = Blueprint("risky", __name__)

@bp.get("/")
def index():
    return "risky " + str(len(pickle.dumps(1)))

@hookimpl
def register_blueprints(app):
    return [bp]
"""


def state(app, name):
    with app.app_context():
        record = db.session.get(PluginRecord, name)
        return str(record.state) if record else "discovered"


def actions(app, action):
    with app.app_context():
        return db.session.scalars(db.select(AuditLog).where(AuditLog.action == action)).all()


def test_page_lists_plugins_with_details(admin, plugins_dir):
    page_plugin(plugins_dir, "dep_base")
    page_plugin(plugins_dir, "dep_user", requires={"dep_base": ">=1.0"})
    page = admin.get("/admin/plugins/").get_data(as_text=True)
    assert 'id="plugin-hello_world"' in page and 'id="plugin-dep_user"' in page
    assert "<code>dep_base &gt;=1.0</code>" in page  # dependency
    assert "<code>dep_user</code>" in page  # dependent of dep_base
    assert "Enable with dependencies" in page


def test_scan_shows_findings_table(app, admin, plugins_dir):
    write_plugin(plugins_dir, "risky", RISKY, capabilities=["routes"])
    response = admin.post("/admin/plugins/risky/scan")
    assert response.status_code == 303
    page = admin.get("/admin/plugins/").get_data(as_text=True)
    assert "risky scanned: warn" in page
    assert "<code>B403</code>" in page and "<code>__init__.py</code>" in page
    assert "pt-sev-HIGH" in page


def test_high_findings_need_confirmation(app, admin, plugins_dir, fresh):
    write_plugin(plugins_dir, "risky", RISKY, capabilities=["routes"])
    response = admin.post("/admin/plugins/risky/enable")
    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert 'id="confirm-enable"' in page and "B403" in page
    assert 'name="accept_risk" value="1"' in page
    assert state(app, "risky") != "enabled"
    assert actions(app, "plugin.risk_accepted") == []

    response = admin.post("/admin/plugins/risky/enable", data={"accept_risk": "1"})
    assert response.status_code == 303
    assert state(app, "risky") == "enabled"
    [accepted] = actions(app, "plugin.risk_accepted")
    assert accepted.actor == "admin@example.com"
    assert fresh(app).test_client().get("/plugins/risky/").status_code == 200


def test_refusals_are_one_line_4xx(app, admin, plugins_dir):
    page_plugin(plugins_dir, "dep_base")
    page_plugin(plugins_dir, "dep_user", requires={"dep_base": ">=1.0"})
    response = admin.post("/admin/plugins/dep_user/enable")
    assert response.status_code == 400
    assert "requires dep_base, not enabled" in response.get_data(as_text=True)
    response = admin.post("/admin/plugins/nope/enable")
    assert response.status_code == 400
    assert "no plugin named" in response.get_data(as_text=True)
    response = admin.post("/admin/plugins/dep_base/disable")
    assert response.status_code == 400  # not enabled: illegal transition


def test_enable_with_dependencies_and_disable_with_cascade(app, admin, plugins_dir):
    page_plugin(plugins_dir, "dep_base")
    page_plugin(plugins_dir, "dep_user", requires={"dep_base": ">=1.0"})
    response = admin.post("/admin/plugins/dep_user/enable", data={"with_dependencies": "1"})
    assert response.status_code == 303
    assert "Enabled dep_base, dep_user" in admin.get(response.location).get_data(as_text=True)
    response = admin.post("/admin/plugins/dep_base/disable")
    assert response.status_code == 400
    assert "depends on" in response.get_data(as_text=True)
    assert admin.post("/admin/plugins/dep_base/disable", data={"cascade": "1"}).status_code == 303
    assert state(app, "dep_user") == "disabled" and state(app, "dep_base") == "disabled"


def test_uninstall_refuses_enabled_and_removes_folder(app, admin, plugins_dir):
    folder = page_plugin(plugins_dir, "gone")
    admin.post("/admin/plugins/gone/enable")
    response = admin.post("/admin/plugins/gone/uninstall")
    assert response.status_code == 400 and "disable it first" in response.get_data(as_text=True)
    admin.post("/admin/plugins/gone/disable")
    assert admin.post("/admin/plugins/gone/uninstall").status_code == 303
    assert not folder.exists()


def test_csrf_is_required_for_actions(instance, plugins_dir):
    from kernel.accounts.services import create_user
    from kernel.testing import build_app

    app = build_app(instance, WTF_CSRF_ENABLED=True)
    with app.app_context():
        create_user("boss@example.com", PASSWORD, role="admin")
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = page.split('name="csrf_token" value="')[1].split('"')[0]
    client.post(
        "/login", data={"email": "boss@example.com", "password": PASSWORD, "csrf_token": token}
    )
    assert client.post("/admin/plugins/hello_world/enable").status_code == 400
    assert state(app, "hello_world") != "enabled"
    page = client.get("/admin/plugins/").get_data(as_text=True)
    token = page.split('name="csrf_token" value="')[1].split('"')[0]
    response = client.post(
        "/admin/plugins/hello_world/enable", data={"csrf_token": token, "accept_risk": "1"}
    )
    assert response.status_code == 303
    assert state(app, "hello_world") == "enabled"


def test_enable_is_served_at_once_through_the_hot_swap(app, users):
    wsgi = HotSwapApplication(factory=lambda: rebuild(app), poll_seconds=3600)
    browser = Client(wsgi)
    browser.post("/login", data={"email": users["admin"], "password": PASSWORD})
    assert "/admin/greetings/" not in browser.get("/admin/").get_data(as_text=True)
    swaps = wsgi.swaps
    response = browser.post("/admin/plugins/hello_world/enable", data={"accept_risk": "1"})
    assert response.status_code == 303
    page = browser.get("/admin/plugins/").get_data(as_text=True)  # the next page load
    assert wsgi.swaps == swaps + 1
    assert "Enabled hello_world" in page
    assert 'href="/admin/greetings/"' in page  # its admin menu item
    client_page = browser.get("/plugins/hello_world/")
    assert client_page.status_code == 200
    assert 'href="/plugins/hello_world/"' in client_page.get_data(as_text=True)  # client menu
    response = browser.post("/admin/plugins/hello_world/disable")
    assert response.status_code == 303
    assert browser.get("/plugins/hello_world/").status_code == 404
