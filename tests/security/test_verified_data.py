"""Templates and static files a plugin serves come from the bytes its verdict recorded."""

from __future__ import annotations

import pytest

from kernel.plugins import verified
from tests.helpers import write_plugin

PAGES = """
from flask import Blueprint, render_template
from kernel import hookimpl

bp = Blueprint("shown", __name__, template_folder="bp_templates", static_folder="bp_static")


@bp.get("/")
def index():
    return render_template("shown/page.html")


@bp.get("/own")
def own():
    return render_template("own.html")


@hookimpl
def register_blueprints(app):
    return [bp]
"""


@pytest.fixture
def shown(app, plugins_dir, cli, fresh):
    folder = write_plugin(
        plugins_dir,
        "shown",
        PAGES,
        capabilities=["routes", "templates"],
        files={
            "templates/shown/page.html": "<p>scanned page</p>",
            "bp_templates/own.html": "<p>scanned own</p>",
            "static/app.css": "body { color: black }",
            "bp_static/x.js": "console.log('scanned')",
        },
    )
    assert cli("plugin", "enable", "shown").exit_code == 0
    return folder, fresh(app)


def test_verified_files_are_served(shown):
    _, app = shown
    client = app.test_client()
    assert client.get("/plugins/shown/").text == "<p>scanned page</p>"
    assert client.get("/plugins/shown/own").text == "<p>scanned own</p>"
    assert client.get("/-/plugin-static/shown/app.css").text == "body { color: black }"
    assert client.get("/plugins/shown/bp_static/x.js").text == "console.log('scanned')"


@pytest.mark.parametrize(
    "url, rel",
    [
        ("/plugins/shown/", "templates/shown/page.html"),
        ("/plugins/shown/own", "bp_templates/own.html"),
    ],
)
def test_a_changed_template_is_not_rendered(shown, url, rel):
    folder, app = shown
    (folder / rel).write_text("<script>alert('swapped')</script>")
    app.config["PROPAGATE_EXCEPTIONS"] = False
    response = app.test_client().get(url)
    assert response.status_code == 500 and "swapped" not in response.text
    assert rel in verified.refusals["shown"]


def test_a_template_added_after_the_verdict_shadows_nothing(shown):
    folder, app = shown
    # a file that would win over the kernel's own template of that name
    (folder / "templates" / "errors").mkdir()
    (folder / "templates" / "errors" / "error.html").write_text("planted")
    app.config["PROPAGATE_EXCEPTIONS"] = False
    response = app.test_client().get("/nowhere")
    assert "planted" not in response.text


@pytest.mark.parametrize(
    "url, rel",
    [
        ("/-/plugin-static/shown/app.css", "static/app.css"),
        ("/plugins/shown/bp_static/x.js", "bp_static/x.js"),
    ],
)
def test_a_changed_or_added_static_file_is_404(shown, url, rel):
    folder, app = shown
    (folder / rel).write_text("alert('swapped')")
    assert app.test_client().get(url).status_code == 404
    (folder / "static" / "new.js").write_text("alert('added')")
    assert app.test_client().get("/-/plugin-static/shown/new.js").status_code == 404
    assert app.test_client().get("/-/plugin-static/shown/../plugin.toml").status_code == 404
