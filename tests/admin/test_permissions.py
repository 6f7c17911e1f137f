"""Every admin page checks admin.access plus its own permission."""

from __future__ import annotations

import pytest

PAGES = {
    "/admin/": None,
    "/admin/users/": "admin.users",
    "/admin/users/new/": "admin.users",
    "/admin/roles/": "admin.users",
    "/admin/plugins/": "admin.plugins",
    "/admin/plugins/hello_world/settings": "admin.plugins",
    "/admin/themes/": "admin.themes",
    "/admin/settings/general": "admin.settings",
    "/admin/settings/security": "admin.settings",
    "/admin/settings/email": "admin.settings",
    "/admin/settings/appearance": "admin.settings",
    "/admin/audit/": "admin.logs",
    "/admin/emails/": "admin.logs",
    "/admin/jobs/": "admin.jobs",
    "/admin/privacy/": "admin.privacy",
}
ACTIONS = [
    "/admin/plugins/hello_world/scan",
    "/admin/plugins/hello_world/enable",
    "/admin/plugins/hello_world/disable",
    "/admin/plugins/hello_world/uninstall",
    "/admin/plugins/hello_world/settings",
    "/admin/themes/activate",
    "/admin/themes/create",
    "/admin/settings/general",
    "/admin/settings/email/test",
    "/admin/jobs/retry",
    "/admin/jobs/delete",
    "/admin/privacy/erase",
    "/admin/privacy/1/retry",
    "/admin/privacy/1/cancel",
]
SUPPORT_ALLOWED = {"/admin/", "/admin/users/", "/admin/users/new/", "/admin/roles/"}


@pytest.mark.parametrize("url", list(PAGES) + ACTIONS)
def test_anonymous_is_sent_to_login(client, url):
    response = client.get(url) if url in PAGES else client.post(url)
    assert response.status_code == 302
    assert "/login" in response.location


@pytest.mark.parametrize("url", list(PAGES) + ACTIONS)
def test_customer_is_forbidden(as_role, url):
    client = as_role("customer")
    response = client.get(url) if url in PAGES else client.post(url)
    assert response.status_code == 403


@pytest.mark.parametrize("url", list(PAGES))
def test_support_sees_only_overview_and_users(as_role, url):
    response = as_role("support").get(url)
    assert response.status_code == (200 if url in SUPPORT_ALLOWED else 403)


@pytest.mark.parametrize("url", ACTIONS)
def test_support_cannot_act_on_plugins_settings_or_themes(as_role, url):
    assert as_role("support").post(url).status_code == 403


@pytest.mark.parametrize("url", list(PAGES))
def test_admin_opens_every_page(admin, url):
    response = admin.get(url)
    assert response.status_code == 200
    assert b"Traceback" not in response.data


def test_support_overview_hides_plugin_and_audit_widgets(as_role, admin):
    support_page = as_role("support").get("/admin/").get_data(as_text=True)
    assert 'id="user-total"' in support_page
    assert 'id="plugin-status"' not in support_page and 'id="recent-audit"' not in support_page
    admin_page = admin.get("/admin/").get_data(as_text=True)
    assert 'id="plugin-status"' in admin_page and 'id="recent-audit"' in admin_page
    assert "hello_world" in admin_page and 'id="system-info"' in admin_page
