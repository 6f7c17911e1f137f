"""The scale-out topology on one machine: PostgreSQL, Redis, two `pteroca serve` "machines",
one `pteroca worker`, two `pteroca scheduler`.

Shows that a plugin enabled through A's admin is served by B within seconds, that a purchase on
A is provisioned by the worker (and only by it) for each provisioner: the store's manual one and
the Pterodactyl plugin against its simulator (run through ``pteroca pterodactyl simulator``, the
panel "machine"), that each cron task runs exactly once per slot
although two schedulers race for it, and that killing the scheduler in the middle of a task
neither loses nor doubles that task: the other one takes the slot over when the lease expires.

Each "machine" has its own instance folder with an identical copy of the plugins, as a real
deployment would (docs/deployment.md); they share the database, Redis and the secret key.
"""

from __future__ import annotations

import re
import shutil
import signal
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest

from kernel.extensions import db
from kernel.testing import HEALTH_HEADERS
from tests.fakes.osv_server import FakeOsv
from tests.helpers import page_plugin, write_plugin
from tests.kernel.test_cron import TICKER
from tests.services import (
    RedisServer,
    fresh_postgres_database,
    require_postgres,
    require_redis_server,
)
from tests.topology.conftest import (
    free_port,
    http_login,
    post_form,
    pteroca,
    pteroca_env,
    wait_until,
)

ADMIN = ("admin@example.com", "cluster-admin-password")
CUSTOMER = ("buyer@example.com", "cluster-buyer-password")
LEASE_SECONDS = 4  # renewed every 1.3 s; a killed scheduler's slot is free again after 4 s
SLOW_SECONDS = 10  # ticker.slow runs this long: long enough to be killed in the middle


class ManualBackend:
    """The store's built-in manual provisioner: no panel behind it."""

    plugins: tuple[str, ...] = ()

    def __init__(self, cluster, processes):
        pass

    def start(self) -> None:
        """Start the panel (after the plugins are enabled, before the product is made)."""

    def configure(self, app) -> None:
        """Point the plugins at the panel (in an app context of the seed app)."""

    def product(self):
        from builtin_plugins.store.testing import make_product

        return make_product("cluster-small", provisioner="manual", price=500)

    def assert_not_created(self, service_id: int) -> None:
        pass

    def assert_created(self, service) -> None:
        pass


def panel_key(prefix: str) -> str:
    import secrets

    return (prefix + secrets.token_hex(24))[:48]


class PterodactylBackend(ManualBackend):
    """The Pterodactyl plugin against the simulator, a process of its own started through the
    plugin's CLI (``pteroca pterodactyl simulator``) with keys chosen here."""

    plugins = ("panel_kit", "pterodactyl")  # the kit first: pterodactyl requires it

    def __init__(self, cluster, processes):
        self.cluster, self.processes = cluster, processes
        self.url = f"http://127.0.0.1:{free_port()}"
        self.application_key, self.client_key = panel_key("ptla_"), panel_key("ptlc_")

    def start(self) -> None:
        port = self.url.rsplit(":", 1)[1]
        self.processes(
            self.cluster["env"]["a"],
            "pterodactyl",
            "simulator",
            "--port",
            port,
            "--application-key",
            self.application_key,
            "--client-key",
            self.client_key,
            "--install-seconds",
            "1",
            "--power-seconds",
            "0",
            "--json",
            log=self.cluster["dir"] / "simulator.log",
        )
        wait_until(
            lambda: httpx.get(f"{self.url}/_simulator/state").status_code == 200,
            60,
            "the simulator is up",
        )

    def configure(self, app) -> None:
        from tests.pterodactyl.conftest import configure

        configure(
            app,
            panel_url=self.url,
            application_key=self.application_key,
            client_key=self.client_key,
            default_location="sim-eu",
        )

    def product(self):
        from builtin_plugins.pterodactyl.client import PanelClient
        from tests.pterodactyl.conftest import panel_product, paper_settings

        with PanelClient(self.url, self.application_key, self.client_key) as panel:
            return panel_product(paper_settings(panel), slug="cluster-paper", price=500)

    def state(self) -> dict:
        return httpx.get(f"{self.url}/_simulator/state").json()

    def assert_not_created(self, service_id: int) -> None:
        assert self.state()["servers"] == []

    def assert_created(self, service) -> None:
        state = self.state()
        [server] = state["servers"]
        assert server["name"] == "Cluster server"
        assert server["external_id"] == f"pteroca-{service.id}"
        assert service.external_id == str(server["id"])
        owner = next(user for user in state["users"] if user["id"] == server["user"])
        assert owner["email"] == CUSTOMER[0]  # the buyer's own panel account


# provisioner -> how to run the panel behind it and make the product to buy.
PRODUCTS = {"manual": ManualBackend, "pterodactyl": PterodactylBackend}


@pytest.fixture
def osv():
    """The advisory service the scan gate asks (plugins with Python dependencies are audited
    for real, against a local fake that knows no vulnerabilities)."""
    with FakeOsv() as server:
        yield server


@pytest.fixture
def cluster(tmp_path, osv):
    """Shared services and two machine folders; yields a dict the test fills with processes."""
    admin_url, redis_binary = require_postgres(), require_redis_server()
    redis = RedisServer(redis_binary).start()
    try:
        url, drop = fresh_postgres_database(admin_url)
    except Exception:
        redis.stop()
        raise
    machines = {}
    for name in ("a", "b"):
        instance = tmp_path / name / "instance"
        (instance / "plugins").mkdir(parents=True)
        machines[name] = instance
    # The same plugin code on every machine.
    page_plugin(machines["a"] / "plugins", "swapped")
    write_plugin(machines["a"] / "plugins", "ticker", TICKER, capabilities=["cron"])
    shutil.copytree(machines["a"] / "plugins", machines["b"] / "plugins", dirs_exist_ok=True)
    log = tmp_path / "cron.log"
    log.touch()
    env = {
        name: pteroca_env(
            instance,
            PTEROCA_DATABASE_URL=url,
            PTEROCA_REDIS_URL=redis.url,
            PTEROCA_CRON_LEASE_SECONDS=LEASE_SECONDS,
            CRON_TEST_LOG=log,
            CRON_TEST_SLEEP=SLOW_SECONDS,
            PTEROCA_OSV_URL=osv.url,
        )
        for name, instance in machines.items()
    }
    try:
        yield {
            "env": env,
            "machines": machines,
            "log": log,
            "db": url,
            "redis": redis.url,
            "dir": tmp_path,
            "osv": osv.url,
        }
    finally:
        redis.stop()
        drop()


def seed_app(cluster):
    """An app in the test process on machine A's configuration, to seed and inspect data."""
    from kernel.app import create_app

    instance = cluster["machines"]["a"]
    return create_app(
        {
            "DATABASE_URL": cluster["db"],
            "REDIS_URL": cluster["redis"],
            "INSTANCE_PATH": str(instance),
            "PLUGINS_DIR": str(instance / "plugins"),
            "THEMES_DIR": str(instance / "themes"),
            "SECRET_KEY": "test-secret-key",
            "OSV_URL": cluster["osv"],
            "PASSWORD_HASH_FAST": True,
        }
    )


def cron_rows(app):
    from kernel.cron import CronRun

    with app.app_context():
        rows = db.session.scalars(db.select(CronRun).order_by(CronRun.id)).all()
        out = [(r.task, r.slot, r.status, r.owner, r.attempts) for r in rows]
        db.session.remove()
    return out


def log_lines(path: Path) -> list[tuple[str, str, str, int]]:
    """(word, task, slot HH:MM, pid) per line the ticker tasks wrote."""
    return [
        (w, t, s, int(p)) for w, t, s, p in (line.split() for line in path.read_text().splitlines())
    ]


@pytest.mark.parametrize("provisioner", sorted(PRODUCTS))
def test_cluster(cluster, processes, provisioner):
    env, log, workdir = cluster["env"], cluster["log"], cluster["dir"]
    backend = PRODUCTS[provisioner](cluster, processes)

    # --- one-off setup on machine A -------------------------------------------------
    result = pteroca(env["a"], "init", "--admin-email", ADMIN[0], "--admin-password", ADMIN[1])
    assert result.returncode == 0, result.stderr
    for plugin in ("store", "ticker", *backend.plugins):
        risk = ["--accept-risk"] if plugin == "pterodactyl" else []  # its passwords capability
        result = pteroca(env["a"], "plugin", "enable", plugin, "--yes", *risk)
        assert result.returncode == 0, result.stdout + result.stderr
    backend.start()

    # --- the processes ------------------------------------------------------------------
    ports = {"a": free_port(), "b": free_port()}
    base = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
    for name in ("a", "b"):
        processes(
            env[name],
            "serve",
            "--bind",
            f"127.0.0.1:{ports[name]}",
            "--workers",
            "2",
            log=workdir / f"serve-{name}.log",
        )
    schedulers = {
        name: processes(
            env[name], "scheduler", "--interval", "0.5", log=workdir / f"scheduler-{name}.log"
        )
        for name in ("a", "b")
    }
    for name in ("a", "b"):
        wait_until(
            lambda n=name: httpx.get(f"{base[n]}/-/health").status_code == 200,
            60,
            f"serve {name} up",
        )
    app = seed_app(cluster)
    with app.app_context():
        backend.configure(app)

    # --- kill the scheduler that runs ticker.slow, in the middle of it --------------------
    def slow_running():
        rows = [r for r in cron_rows(app) if r[0] == "ticker.slow" and r[2] == "running"]
        return rows[0] if rows else None

    _task, killed_slot, _status, owner, _attempts = wait_until(slow_running, 60, "ticker.slow runs")
    pid = int(owner.rsplit(":", 1)[1])
    victim = next(n for n, s in schedulers.items() if s.pid == pid)
    survivor = "b" if victim == "a" else "a"
    wait_until(
        lambda: any(w == "start" and p == pid for w, _t, _s, p in log_lines(log)),
        10,
        "ticker.slow started",
    )
    schedulers[victim].signal(signal.SIGKILL)
    schedulers[victim].proc.wait(10)
    assert not any(w == "end" and p == pid for w, _t, _s, p in log_lines(log)), (
        "ticker.slow finished before the kill: this machine is too slow for SLOW_SECONDS"
    )

    # --- a plugin enabled through A's admin is served by B ------------------------------
    url_b = f"{base['b']}/plugins/swapped/"
    assert httpx.get(url_b).status_code == 404
    with httpx.Client(base_url=base["a"], timeout=30) as admin:
        http_login(admin, *ADMIN)
        enabled = post_form(admin, "/admin/plugins/", "/admin/plugins/swapped/enable", {})
        assert enabled.status_code == 303, enabled.text
    clicked = time.monotonic()
    wait_until(lambda: httpx.get(url_b).status_code == 200, 10, "B serves the plugin")
    assert time.monotonic() - clicked < 8  # B polls every 0.5 s, then rebuilds its apps
    assert {httpx.get(url_b).status_code for _ in range(8)} == {200}  # every worker of B

    # --- a purchase on A is provisioned by the worker --------------------------------------
    from builtin_plugins.store.models import Service
    from kernel import jobs
    from kernel.accounts.services import create_user
    from kernel.payments import ledger

    with app.app_context():
        product = backend.product()
        slug, plan_id = product.slug, product.plans[0].id
        buyer = create_user(CUSTOMER[0], CUSTOMER[1], name="Buyer", verified=True)
        ledger.credit(buyer.id, 2000, "adjustment", "seed:cluster")
        db.session.remove()
    with httpx.Client(base_url=base["a"], timeout=30) as customer:
        http_login(customer, *CUSTOMER)
        page = customer.get(f"/store/product/{slug}/checkout?plan={plan_id}").text
        token = re.search(r'name="token" value="([^"]+)"', page).group(1)
        bought = post_form(
            customer,
            f"/store/product/{slug}/checkout?plan={plan_id}",
            f"/store/product/{slug}/checkout",
            {"token": token, "plan": plan_id, "name": "Cluster server"},
        )
        assert bought.status_code == 303, bought.text
        service_id = int(bought.headers["location"].rstrip("/").rsplit("/", 1)[1])
        cookies = dict(customer.cookies)
    with app.app_context():
        # (the Pterodactyl plugin also queued the linking of the accounts to panel users)
        [job] = [
            job
            for job in jobs.queue("provisioning").get_jobs()
            if job.func_name == "builtin_plugins.store.reconciler.converge"
        ]
        assert job.args[0] == [service_id]
        time.sleep(1)
        assert db.session.get(Service, service_id).state == "provisioning"  # no worker yet
        db.session.remove()
    backend.assert_not_created(service_id)
    processes(env["a"], "worker", log=workdir / "worker.log")

    def provisioned():
        with app.app_context():
            state = db.session.get(Service, service_id).state
            db.session.remove()
        return state == "active"

    wait_until(provisioned, 60, "the worker provisioned the service")
    with app.app_context():
        backend.assert_created(db.session.get(Service, service_id))
        db.session.remove()

        def finished():  # rq marks the job after the function returned (and committed)
            job.refresh()
            return job.get_status() == "finished"

        wait_until(finished, 10, "the provisioning job is finished")
        assert job.worker_name
    # Sessions are signed cookies: machine B knows the customer without sticky sessions.
    with httpx.Client(base_url=base["b"], cookies=cookies) as on_b:
        shown = on_b.get(f"/servers/{service_id}")
        assert shown.status_code == 200 and "Cluster server" in shown.text

    # --- the killed scheduler's slot was taken over once ----------------------------------
    def slot_done():
        rows = [r for r in cron_rows(app) if r[0] == "ticker.slow" and r[1] == killed_slot]
        return rows[0] if rows and rows[0][2] == "ok" else None

    _task, _slot, _status, taker, attempts = wait_until(slot_done, 60, "slow slot taken over")
    assert attempts == 2 and taker.endswith(f":{schedulers[survivor].pid}")
    wait_until(lambda: all(r[2] != "running" for r in cron_rows(app)), 60, "no run in flight")

    # --- each task ran exactly once per slot -------------------------------------------
    rows, lines = cron_rows(app), log_lines(log)
    assert all(status in ("ok", "failed") for _t, _s, status, _o, _a in rows)
    assert len({(task, slot) for task, slot, *_ in rows}) == len(rows)
    finished = Counter((task, slot) for word, task, slot, _pid in lines if word in ("tick", "end"))
    for task in ("ticker.tick", "ticker.slow"):
        slots = {slot.strftime("%H:%M") for t, slot, status, *_ in rows if t == task}
        assert slots and {finished[(task, s)] for s in slots} == {1}, (task, finished)
        assert {s for t, s in finished if t == task} == slots
    killed = killed_slot.strftime("%H:%M")
    starts = [
        p
        for word, task, slot, p in lines
        if word == "start" and task == "ticker.slow" and slot == killed
    ]
    assert starts == [schedulers[victim].pid, schedulers[survivor].pid]
    assert [status for task, _slot, status, _o, _a in rows if task == "ticker.broken"] == ["failed"]
    # both schedulers did work (a row keeps only its last owner: the log says who ran what)
    assert {s.pid for s in schedulers.values()} <= {pid for *_rest, pid in lines}

    # --- B's health: database, Redis, scheduler heartbeat, worker, generation -------------
    report = httpx.get(f"{base['b']}/-/health", headers=HEALTH_HEADERS).json()
    assert report["status"] == "ok" and report["database"] == "ok" and report["redis"] == "ok"
    assert report["scheduler"]["age_seconds"] < 10
    assert report["jobs"]["workers"] >= 1 and report["jobs"]["failed"] == 0
    assert {"store", "ticker", "swapped", *backend.plugins} <= set(report["plugins_loaded"])
