"""Themes: fallback to default, the sandbox, cache-busted static files, theme create/list."""

from __future__ import annotations

import json
import logging

import jinja2
import pytest
from jinja2.exceptions import SecurityError

from kernel import site_settings
from kernel.testing import login
from kernel.themes import ThemeError, create_theme
from tests.admin.conftest import PASSWORD
from tests.helpers import make_theme


def test_override_one_template_rest_falls_back(app, fresh):
    make_theme(
        app,
        "night",
        {
            "landing/index.html": '{% extends "panel/layout.html" %}{% block content %}'
            "<h1>Night theme landing</h1>{% endblock %}"
        },
    )
    client = fresh(app).test_client()
    page = client.get("/").get_data(as_text=True)
    assert "Night theme landing" in page
    assert "navbar" in page  # panel/layout.html from the default theme
    assert client.get("/login").status_code == 200  # untouched page: default theme


def test_theme_static_overrides_and_falls_back(app, fresh):
    make_theme(app, "night", {"static/panel.css": "body { background: black; }"})
    client = fresh(app).test_client()
    assert client.get("/-/theme/panel.css").data == b"body { background: black; }"
    assert client.get("/-/theme/vendor/bootstrap/bootstrap.min.css").status_code == 200
    assert client.get("/-/theme/../theme.toml").status_code == 404


def test_admin_templates_cannot_be_overridden(app, fresh, users):
    make_theme(
        app,
        "evil",
        {
            "admin/master.html": "HIJACKED",
            "admin/pteroca/overview.html": "HIJACKED",
            "panel/admin/master.html": "HIJACKED",
        },
    )
    client = fresh(app).test_client()
    login(client, users["admin"], PASSWORD)
    page = client.get("/admin/").get_data(as_text=True)
    assert "HIJACKED" not in page and 'id="user-total"' in page


HOSTILE = [
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ config.__class__.__init__.__globals__ }}",
    "{{ cycler.__init__.__globals__.os }}",
    "{{ request.application.__globals__.__builtins__ }}",
]


@pytest.mark.parametrize("source", HOSTILE)
def test_sandbox_refuses_python_internals(app, source):
    with app.test_request_context():
        with pytest.raises(SecurityError):
            app.jinja_env.from_string(source).render(
                config=app.jinja_env.globals["config"], cycler=jinja2.utils.Cycler(1)
            )


def test_templates_do_not_see_secrets(app):
    with app.test_request_context():
        rendered = app.jinja_env.from_string(
            "{{ config.SECRET_KEY }}|{{ config.get('DATABASE_URL') }}|{{ config.TESTING }}"
        ).render()
    assert "test-secret-key" not in rendered and "sqlite" not in rendered
    assert rendered.endswith("|True")


@pytest.mark.parametrize("source", HOSTILE)
def test_hostile_theme_falls_back_to_default(app, fresh, users, caplog, source):
    make_theme(
        app,
        "evil",
        {
            "panel/login.html": '{% extends "panel/layout.html" %}{% block content %}'
            f"<p>pwned {source}</p>{{% endblock %}}"
        },
    )
    client = fresh(app).test_client()
    with caplog.at_level(logging.ERROR):
        response = client.get("/login")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "pwned" not in page and "<class" not in page and "Traceback" not in page
    assert 'name="password"' in page  # the default theme's login page
    assert any("rendering the default theme" in r.getMessage() for r in caplog.records)


def test_broken_theme_template_falls_back(app, fresh):
    make_theme(app, "broken", {"landing/index.html": "{% if %}never closed"})
    response = fresh(app).test_client().get("/")
    assert response.status_code == 200 and "never closed" not in response.get_data(as_text=True)


def test_unknown_active_theme_uses_default(app, fresh):
    with app.app_context():
        site_settings.set_many({"active_theme": "vanished"})
    assert fresh(app).test_client().get("/login").status_code == 200


def test_static_urls_are_cache_busted(app, client):
    page = client.get("/login").get_data(as_text=True)
    assert "/-/theme/panel.css?v=" in page
    url = page.split('href="/-/theme/panel.css?v=')[1].split('"')[0]
    response = client.get(f"/-/theme/panel.css?v={url}")
    assert response.cache_control.max_age == 365 * 24 * 3600
    assert response.cache_control.immutable
    assert client.get("/-/theme/panel.css").cache_control.max_age == 3600


def test_new_version_when_content_changes(app, fresh):
    theme = make_theme(app, "night", {"static/panel.css": "a {}"})
    first = fresh(app).test_client().get("/login").get_data(as_text=True)
    (theme / "static" / "panel.css").write_text("a { color: red }")
    second = fresh(app).test_client().get("/login").get_data(as_text=True)
    version = lambda page: page.split("/-/theme/panel.css?v=")[1].split('"')[0]  # noqa: E731
    assert version(first) != version(second)


def test_pages_reference_no_external_host(app, client, users):
    import re

    login(client, users["admin"], PASSWORD)
    for url in (
        "/login",
        "/admin/",
        "/admin/users/",
        "/admin/users/new/",
        "/admin/plugins/",
        "/admin/settings/general",
        "/admin/themes/",
        "/admin/audit/",
    ):
        page = client.get(url).get_data(as_text=True)
        external = re.findall(r'(?:src|href)="((?:https?:)?//[^"]+)"', page)
        assert external == [], (url, external)


# --- the themes page and the CLI -------------------------------------------------------------


def test_theme_create_and_list(app, cli):
    result = cli("theme", "create", "sunset")
    assert result.exit_code == 0, result.output
    assert "created theme sunset" in result.output
    listed = json.loads(cli("theme", "list", "--json").output)
    names = {row["name"]: row for row in listed}
    assert names["default"]["active"] and not names["sunset"]["active"]
    assert names["sunset"]["path"].startswith(app.config["THEMES_DIR"])
    text = cli("theme", "list").output
    assert text.splitlines()[0].startswith("* default")


@pytest.mark.parametrize(
    "name,message", [("default", "already exists"), ("Bad Name!", "not a valid theme name")]
)
def test_theme_create_refuses(cli, name, message):
    result = cli("theme", "create", name)
    assert result.exit_code == 1
    [line] = result.output.strip().splitlines()  # one clear line
    assert line.startswith("error: ") and message in line


def test_theme_create_refuses_existing(app, cli):
    cli("theme", "create", "sunset")
    result = cli("theme", "create", "sunset")
    assert result.exit_code == 1 and "already exists" in result.output


def test_themes_page_activates_and_bumps_generation(app, fresh, users):
    from kernel.generation import read_generation

    with app.app_context():
        create_theme("sunset", app.config["THEMES_DIR"])
        before = read_generation()
    client = app.test_client()
    login(client, users["admin"], PASSWORD)
    assert 'id="theme-sunset"' in client.get("/admin/themes/").get_data(as_text=True)
    response = client.post("/admin/themes/activate", data={"name": "sunset"})
    assert response.status_code == 303
    with app.app_context():
        assert site_settings.get("active_theme") == "sunset"
        assert read_generation() == before + 1
    assert fresh(app).extensions["pteroca_theme"].active.name == "sunset"
    response = client.post("/admin/themes/activate", data={"name": "ghost"})
    assert response.status_code == 400 and "no theme named" in response.get_data(as_text=True)


def test_themes_page_creates(app, users):
    client = app.test_client()
    login(client, users["admin"], PASSWORD)
    assert client.post("/admin/themes/create", data={"name": "dawn"}).status_code == 303
    response = client.post("/admin/themes/create", data={"name": "dawn"})
    assert response.status_code == 400 and "already exists" in response.get_data(as_text=True)
    response = client.post("/admin/themes/create", data={"name": "../x"})
    assert response.status_code == 400 and "not a valid theme name" in response.get_data(
        as_text=True
    )


def test_create_theme_rejects_bad_names(tmp_path):
    with pytest.raises(ThemeError):
        create_theme("../escape", tmp_path)
