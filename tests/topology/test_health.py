"""/-/health: database and Redis are required, the scheduler heartbeat is informative."""

from __future__ import annotations

from kernel.testing import build_app


def health(app):
    response = app.test_client().get("/-/health")
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

    app = create_app({"TESTING": True, "INSTANCE_PATH": str(instance),
                      "PLUGINS_DIR": str(plugins_dir), "SECRET_KEY": "x",
                      "DATABASE_URL": "postgresql+psycopg://nobody:x@127.0.0.1:9/none"})
    status, report, _ = health(app)
    assert status == 503 and report["down"] == ["database"]
    assert report["database"].startswith("down: ")
    assert report["scheduler"] == {"last_heartbeat": None, "age_seconds": None}
