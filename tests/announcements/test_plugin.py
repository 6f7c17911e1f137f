"""The announcements plugin as an admin meets it: the scan, switching it off and on, purge."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect, text

from kernel.extensions import db
from tests.announcements.conftest import banner_titles


def test_the_plugin_scans_with_nothing_above_low(panel, pteroca_instance):
    record = pteroca_instance.scan("announcements")
    assert record["verdict"] == "pass"
    assert [f for f in record["findings"] if f["severity"] not in ("LOW", "INFO")] == []


def test_disabling_hides_banners_menus_and_pages_and_keeps_the_data(panel, pteroca_instance):
    ann = panel.announce(
        title="Maintenance tonight",
        level="maintenance",
        audience="product",
        product_ids=[str(panel.products["mc"])],
    )
    alpha = panel.client_as("alpha")
    assert banner_titles(alpha.get("/dashboard").text) == ["Maintenance tonight"]
    alpha.post(f"/announcements/{ann}/dismiss")
    pteroca_instance.disable("announcements")
    alpha, writer = panel.client_as("alpha"), panel.client_as("writer")
    dashboard = alpha.get("/dashboard").text
    assert "Maintenance tonight" not in dashboard and 'href="/announcements/"' not in dashboard
    assert "Maintenance tonight" not in alpha.get(f"/servers/{panel.servers['alpha']}").text
    assert alpha.get("/announcements/").status_code == 404
    assert writer.get("/admin/announcements/").status_code == 404
    assert "Announcements" not in writer.get("/admin/").text
    with panel.app.app_context():
        rows = db.session.execute(text("SELECT count(*) FROM announcements_announcement")).scalar()
        dismissed = db.session.execute(
            text("SELECT count(*) FROM announcements_dismissal")
        ).scalar()
    assert (rows, dismissed) == (1, 1)
    pteroca_instance.enable("announcements")
    assert (
        "Maintenance tonight"
        in panel.client_as("alpha").get(f"/servers/{panel.servers['alpha']}").text
    )


def test_purging_drops_its_tables(panel, pteroca_instance, runner):
    panel.announce(title="Bye")
    pteroca_instance.disable("announcements")
    result = runner.invoke(args=["plugin", "uninstall", "announcements", "--purge", "--yes"])
    assert result.exit_code == 0, result.output
    with panel.app.app_context():
        tables = set(inspect(db.engine).get_table_names())
    assert not {t for t in tables if t.startswith("announcements_")}
    assert "store_product" in tables


def test_the_mail_task_is_registered(panel, runner):
    result = runner.invoke(args=["cron", "list"])
    assert "announcements.mail" in result.output


@pytest.mark.parametrize(
    "pteroca_config", [{"WTF_CSRF_ENABLED": True, "RATELIMIT_LOGIN": "10000 per minute"}]
)
def test_every_form_needs_its_csrf_token(panel):
    import re

    from tests.announcements.conftest import PEOPLE
    from tests.support.conftest import PASSWORD

    def logged_in(who):
        client = panel.app.test_client()
        token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text)
        client.post(
            "/login",
            data={"email": PEOPLE[who][0], "password": PASSWORD, "csrf_token": token.group(1)},
        )
        return client

    writer = logged_in("writer")
    form = writer.get("/admin/announcements/new").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
    assert (
        writer.post(
            "/admin/announcements/new",
            data={
                "title": "Ok",
                "body": "b",
                "level": "info",
                "audience": "everyone",
                "dismissible": "1",
                "csrf_token": token,
            },
        ).status_code
        == 303
    )
    for url in (
        "/admin/announcements/new",
        "/admin/announcements/1",
        "/admin/announcements/1/delete",
        "/announcements/1/dismiss",
    ):
        response = writer.post(
            url, data={"title": "no token", "level": "info", "audience": "everyone"}
        )
        assert response.status_code == 400, url
    assert "Ok" in logged_in("alpha").get("/announcements/").text  # nothing was changed
