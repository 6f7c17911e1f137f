"""The connection test, the admin page and the product form's JSON pickers; the scan gate."""

from __future__ import annotations

import pytest

from builtin_plugins.pterodactyl.connection import check_connection
from builtin_plugins.pterodactyl.panel import PanelSettings
from kernel.testing import HEALTH_HEADERS, admin_client, login, run_cli
from tests.helpers import PASSWORD, make_user
from tests.pterodactyl.conftest import configure


def report_for(sim, **overrides):
    values = {"url": sim.url, "application_key": sim.application_key, "client_key": sim.client_key}
    values.update(overrides)
    return check_connection(PanelSettings(**values))


def messages(report) -> dict[str, str]:
    return {c.name: c.message for c in report.checks if not c.ok}


def test_a_good_connection_passes_every_check(sim):
    report = report_for(sim)
    assert report.ok, report.problems
    assert [c.name for c in report.checks] == ["url", "application_key", "client_key"]
    assert "root admin admin" in report.checks[-1].message


@pytest.mark.parametrize(
    "url, expected",
    [
        ("", "No panel URL is set."),
        ("panel.example.com", "is not a web address"),
        ("http://127.0.0.1:9", "Cannot reach the panel at http://127.0.0.1:9"),
    ],
)
def test_url_problems_are_named(sim, url, expected):
    assert expected in messages(report_for(sim, url=url)).get("url", "") + messages(
        report_for(sim, url=url)
    ).get("application_key", "")


def test_an_api_path_in_the_url_is_refused(sim):
    problems = messages(report_for(sim, url=sim.url + "/api/application"))
    assert "without the API path" in problems["url"]


def test_something_that_is_not_the_panel_is_named(sim):
    sim.set_switches(
        fail_next={"count": 1, "status": 502, "body": "html", "path": "/api/application/locations*"}
    )
    problem = messages(report_for(sim))["application_key"]
    assert "HTTP 502, but not as a Pterodactyl panel API" in problem


def test_keys_of_the_wrong_type_are_named(sim):
    problems = messages(
        report_for(sim, application_key=sim.client_key, client_key=sim.application_key)
    )
    assert "is a client key (ptlc_...)" in problems["application_key"]
    assert "is an application key (ptla_...)" in problems["client_key"]


def test_a_refused_key_is_named(sim):
    problems = messages(
        report_for(sim, application_key="ptla_" + "q" * 43, client_key="ptlc_" + "q" * 43)
    )
    assert "refused the application key (401" in problems["application_key"]
    assert "refused the client key (401" in problems["client_key"]


def test_keys_of_a_user_who_is_not_a_root_admin_are_named(sim, panel):
    user = panel.app.create_user(
        email="staff@example.com", username="staff", first_name="S", last_name="Taff"
    )
    problems = messages(
        report_for(
            sim,
            application_key=sim.create_key(user["id"], "application"),
            client_key=sim.create_key(user["id"], "client"),
        )
    )
    assert "not a root admin" in problems["application_key"]
    assert "belongs to staff, who is not a root admin" in problems["client_key"]


def test_missing_read_permissions_are_listed(sim):
    admin_id = next(u.id for u in sim.state.users.values() if u.root_admin)
    key = sim.create_key(admin_id, "application", permissions={"r_locations": 3, "r_nodes": 1})
    problem = messages(report_for(sim, application_key=key))["application_key"]
    assert "lacks read permission on nests, users, servers" in problem


# --- the admin page and the CLI ------------------------------------------------------------


@pytest.fixture
def boss_client(ptero_app):
    with ptero_app.app_context():
        make_user("customer@example.com")
    return admin_client(ptero_app, "boss@example.com")


def test_the_admin_page_runs_the_connection_test(ptero_app, boss_client, sim):
    page = boss_client.post("/admin/pterodactyl/test")
    assert page.status_code == 200
    assert "Application key accepted" in page.get_data(as_text=True)
    configure(ptero_app, application_key=sim.client_key)
    page = boss_client.post("/admin/pterodactyl/test").get_data(as_text=True)
    assert "is a client key (ptlc_...)" in page


def test_customers_cannot_reach_the_admin_page_or_pickers(ptero_app, boss_client):
    client = ptero_app.test_client()
    login(client, "customer@example.com", PASSWORD)
    assert client.post("/admin/pterodactyl/test").status_code == 403
    assert client.get("/admin/pterodactyl/api/nests").status_code == 403
    anonymous = ptero_app.test_client().get("/admin/pterodactyl/api/nests")
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]


def test_pickers_answer_live_panel_data(boss_client, panel):
    nests = boss_client.get("/admin/pterodactyl/api/nests").get_json()
    assert nests["ok"] and {"Minecraft", "Source Engine"} <= {n["name"] for n in nests["items"]}
    nest = next(n["id"] for n in nests["items"] if n["name"] == "Minecraft")
    eggs = boss_client.get(f"/admin/pterodactyl/api/nests/{nest}/eggs").get_json()["items"]
    paper = next(e["id"] for e in eggs if e["name"] == "Paper")
    egg = boss_client.get(f"/admin/pterodactyl/api/nests/{nest}/eggs/{paper}").get_json()["items"]
    variable = next(v for v in egg["variables"] if v["env_variable"] == "MAX_PLAYERS")
    assert variable["rules"] == "required|integer|between:1,100" and egg["docker_images"]
    nodes = boss_client.get("/admin/pterodactyl/api/nodes").get_json()["items"]
    assert {"sim-node-1", "sim-node-2"} <= {n["name"] for n in nodes}
    locations = boss_client.get("/admin/pterodactyl/api/locations").get_json()["items"]
    assert {"sim-eu", "sim-us"} <= {x["short"] for x in locations}
    missing = boss_client.get(f"/admin/pterodactyl/api/nests/{nest}/eggs/999")
    assert missing.status_code == 404 and not missing.get_json()["ok"]


def test_pickers_say_when_the_panel_is_not_configured(ptero_app, boss_client):
    configure(ptero_app, panel_url="")
    response = boss_client.get("/admin/pterodactyl/api/nests")
    assert response.status_code == 409 and "not set" in response.get_json()["error"]


def test_the_test_command(ptero_app, sim):
    result = run_cli(ptero_app, "pterodactyl", "test")
    assert result.exit_code == 0 and result.output.count("ok  ") == 3, result.output
    configure(ptero_app, client_key="")
    result = run_cli(ptero_app, "pterodactyl", "test")
    assert result.exit_code == 1 and "FAIL client_key: No client key is set." in result.output


def test_the_plugin_passes_the_scan_gate(ptero_app):
    from flask import current_app

    from kernel.security.gate import scan_plugin
    from tests.fakes.osv_server import FakeOsv

    with FakeOsv() as osv:
        ptero_app.config["OSV_URL"] = osv.url
        with ptero_app.app_context():
            record = scan_plugin(
                current_app.extensions["pteroca"].discovered["pterodactyl"], force=True
            )
            verdict, findings = record.verdict, list(record.findings)
    # HIGH only for the declared passwords capability (pushed to the panel): the admin confirms
    assert verdict == "warn", findings
    assert [
        (f["rule"], f["severity"]) for f in findings if f["severity"] in ("HIGH", "CRITICAL")
    ] == [("sensitive-capability", "HIGH")]
    core = [
        f
        for f in findings
        if "/" not in str(f.get("file", ""))  # the modules at the top
        and f["rule"] != "sensitive-capability"
    ]
    assert core == []


def test_health_says_whether_the_panel_answers(ptero_app, sim):
    client = ptero_app.test_client()
    report = client.get("/-/health", headers=HEALTH_HEADERS).get_json()
    assert report["plugin_health"]["pterodactyl"] == {"panel": "ok"}
    sim.stop()
    report = client.get("/-/health", headers=HEALTH_HEADERS).get_json()
    assert "cannot reach the panel" in report["plugin_health"]["pterodactyl"]["panel"]
    assert "pterodactyl" in report["degraded"]


def test_the_egg_browser_shows_ids_variables_and_a_starting_setting(boss_client, panel):
    from tests.pterodactyl.conftest import ids

    seed = ids(panel)
    page = boss_client.get(f"/admin/pterodactyl/eggs?nest={seed['nest']}&egg={seed['paper']}")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "required|integer|between:1,100" in text and "sim-node-2" in text and "sim-eu" in text
    assert "MINECRAFT_VERSION=latest | visible, editable" in text
    assert "BUILD_NUMBER=latest | visible" in text and "DL_PATH=\n" in text
    missing = boss_client.get(f"/admin/pterodactyl/eggs?nest={seed['nest']}&egg=999")
    assert missing.status_code == 404 and "is not in nest" in missing.get_data(as_text=True)
