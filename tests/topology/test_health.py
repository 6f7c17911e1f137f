"""/-/health: database and Redis are required, the scheduler heartbeat is informative."""

from __future__ import annotations

from kernel.testing import HEALTH_HEADERS, HEALTH_TOKEN, build_app, login
from tests.admin.conftest import PASSWORD, users  # noqa: F401 - users is a fixture


def health(app):
    response = app.test_client().get("/-/health", headers=HEALTH_HEADERS)
    return response.status_code, response.get_json(), response


def test_single_machine_without_services_is_healthy(app):
    status, report, response = health(app)
    assert status == 200 and report["status"] == "ok" and report["down"] == []
    assert report["database"] == "ok"
    assert report["redis"] == "not configured" and report["jobs"] == "inline"
    assert report["scheduler"] == {"last_heartbeat": None, "age_seconds": None}
    assert report["plugin_generation"] == 0
    assert response.headers["Cache-Control"] == "no-store"


def test_scheduler_heartbeat_age_is_reported(app):
    from kernel import cron

    with app.app_context():
        cron.beat("sched:1")
    status, report, _ = health(app)
    assert status == 200
    assert report["scheduler"]["last_heartbeat"].endswith("Z")
    assert 0 <= report["scheduler"]["age_seconds"] < 5


def test_plugin_generation_follows_enablement(app, cli, fresh):
    assert cli("plugin", "enable", "hello_world", "--accept-risk").exit_code == 0
    status, report, _ = health(fresh(app))
    assert status == 200 and report["plugin_generation"] == 1
    assert "hello_world" in report["plugins_loaded"]


def test_redis_configured_and_up(instance, plugins_dir, redis_url):
    app = build_app(instance, REDIS_URL=redis_url)
    status, report, _ = health(app)
    assert status == 200 and report["redis"] == "ok"
    assert report["jobs"] == {"queued": 0, "failed": 0, "retrying": 0, "workers": 0}


def test_redis_configured_but_unreachable_is_down(instance, plugins_dir):
    app = build_app(instance, REDIS_URL="redis://127.0.0.1:9/0")
    status, report, _ = health(app)
    assert status == 503 and report["status"] == "down" and report["down"] == ["redis"]
    assert report["redis"].startswith("down: ") and report["database"] == "ok"
    assert report["jobs"] == "unavailable"


def test_database_down_is_503(instance, plugins_dir):
    from kernel.app import create_app

    app = create_app(
        {
            "TESTING": True,
            "INSTANCE_PATH": str(instance),
            "PLUGINS_DIR": str(plugins_dir),
            "SECRET_KEY": "x",
            "HEALTH_TOKEN": HEALTH_TOKEN,
            "DATABASE_URL": "postgresql+psycopg://nobody:x@127.0.0.1:9/none",
        }
    )
    status, report, _ = health(app)
    assert status == 503 and report["down"] == ["database"]
    assert report["database"].startswith("down: ")
    assert report["scheduler"] == {"last_heartbeat": None, "age_seconds": None}


# --- who sees what --------------------------------------------------------------------------


def test_anyone_sees_up_or_down_only(app, users):  # noqa: F811 - the fixture
    anonymous = app.test_client().get("/-/health")
    assert anonymous.status_code == 200 and anonymous.get_json() == {"status": "ok"}
    assert anonymous.headers["Cache-Control"] == "no-store"
    customer = app.test_client()
    login(customer, users["customer"], PASSWORD)
    assert customer.get("/-/health").get_json() == {"status": "ok"}
    for wrong in (
        "Bearer wrong",
        "Bearer ",
        "Basic " + HEALTH_TOKEN,
        HEALTH_TOKEN,
        "Bearer " + HEALTH_TOKEN + "x",
    ):
        answer = app.test_client().get("/-/health", headers={"Authorization": wrong})
        assert answer.get_json() == {"status": "ok"}, wrong


def test_the_token_or_an_admin_sees_everything(app, users):  # noqa: F811 - the fixture
    full = app.test_client().get("/-/health", headers=HEALTH_HEADERS).get_json()
    assert {"database", "redis", "plugins_loaded", "plugin_generation", "scheduler"} <= set(full)
    admin = app.test_client()
    login(admin, users["admin"], PASSWORD)
    assert set(admin.get("/-/health").get_json()) == set(full)


def test_no_token_configured_means_admins_only(instance, plugins_dir):
    app = build_app(instance, HEALTH_TOKEN="")
    answer = app.test_client().get("/-/health", headers={"Authorization": "Bearer "})
    assert answer.get_json() == {"status": "ok"}


def test_anyone_sees_down_when_a_required_service_is(instance, plugins_dir):
    app = build_app(instance, REDIS_URL="redis://127.0.0.1:9/0")
    answer = app.test_client().get("/-/health")
    assert answer.status_code == 503 and answer.get_json() == {"status": "down"}
