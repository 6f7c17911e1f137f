"""`pteroca scheduler`: runs due tasks, beats, follows the plugin generation, stops gracefully."""

from __future__ import annotations

import signal

from kernel import cron
from kernel.extensions import db
from tests.helpers import write_plugin
from tests.kernel.test_cron import TICKER
from tests.topology.conftest import env_for, pteroca, wait_until


def test_once_runs_what_is_due_and_beats(app, tmp_path):
    result = pteroca(env_for(app), "scheduler", "--once")
    assert result.returncode == 0, result.stderr
    assert "kernel.rescan_plugins [" in result.stdout and "]: ok" in result.stdout
    assert "stopped" in result.stdout
    with app.app_context():
        assert cron.last_heartbeat() is not None
    again = pteroca(env_for(app), "scheduler", "--once")
    assert "kernel.rescan_plugins" not in again.stdout  # its slot already ran


def test_bad_interval_is_refused(app):
    result = pteroca(env_for(app), "scheduler", "--interval", "0")
    assert result.returncode == 1 and "--interval must be a positive number" in result.stderr


def test_a_running_scheduler_picks_up_tasks_of_a_newly_enabled_plugin(
    app, cli, tmp_path, processes
):
    log = tmp_path / "cron.log"
    log.touch()
    env = env_for(app, CRON_TEST_LOG=log, CRON_TEST_SLEEP=0)
    scheduler = processes(env, "scheduler", "--interval", "0.5", log=tmp_path / "scheduler.log")
    wait_until(lambda: "kernel.rescan_plugins" in scheduler.output(), 30, "first pass")
    write_plugin(app.config["PLUGINS_DIR"], "ticker", TICKER, capabilities=["cron"])
    assert cli("plugin", "enable", "ticker").exit_code == 0
    wait_until(lambda: "ticker.tick" in log.read_text(), 20, "ticker.tick ran")
    assert "cron tasks reloaded" in scheduler.output()

    scheduler.signal(signal.SIGTERM)
    scheduler.proc.wait(20)
    assert scheduler.proc.returncode == 0 and "stopped" in scheduler.output()
    with app.app_context():
        tick = db.session.scalars(db.select(cron.CronRun).where(cron.CronRun.task == "ticker.tick"))
        assert [(r.status, r.owner.endswith(f":{scheduler.pid}")) for r in tick] in (
            [("ok", True)],
            [("ok", True), ("ok", True)],
        )  # two if a minute boundary passed
