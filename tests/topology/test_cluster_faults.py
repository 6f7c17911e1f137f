"""Crashes in the middle of the work, on the production topology: PostgreSQL, Redis, one
``pteroca worker``, two ``pteroca scheduler``, the Pterodactyl simulator as the panel.

1. 2,000 servers expire; the scheduler running the lifecycle sweep is killed (SIGKILL) half way.
   The other takes the slot over. Afterwards every server is suspended in the panel as it is
   here, and each got exactly one audit row and its customer exactly one email.
2. A customer buys a server; the worker is killed (with its job's process) while the panel is
   still answering the create. A new worker starts: the paid service is active within a minute,
   with one server in the panel and one charge.
"""

from __future__ import annotations

import os
import signal
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

from kernel.clock import now as utcnow
from kernel.extensions import db
from tests.topology.conftest import free_port, pteroca, wait_until
from tests.topology.test_cluster import ADMIN, cluster, osv, panel_key  # noqa: F401 - fixtures

SERVERS = 2000
PER_CUSTOMER = 10
BATCH = 25  # servers per sweep transaction: 80 of them, so the kill lands in the middle


def build_app(cluster):  # noqa: F811 - the fixture's value
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
            "TESTING": True,
            "MAIL_URL": f"file://{cluster['dir']}/mail.mbox",
        }
    )


def children(pid: int) -> list[int]:
    """Processes whose parent is ``pid`` (the worker's job process sets its own group)."""
    out = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            out.append(int(entry.name))
    return out


def kill_machine(proc) -> None:
    """SIGKILL a process, its group and its children: what losing the machine does."""
    victims = children(proc.pid)
    os.killpg(proc.pid, signal.SIGKILL)
    for pid in victims:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    proc.proc.wait(10)


def seed(app, sim) -> tuple[list[int], int]:
    """2,000 expired active servers of 200 customers, each with its panel server."""
    from builtin_plugins.pterodactyl.models import ServerLink, UserLink
    from builtin_plugins.store.models import Service
    from kernel.accounts.models import User
    from tests.pterodactyl.conftest import configure, panel_product, paper_settings

    with app.app_context():
        configure(
            app,
            panel_url=sim.url,
            application_key=sim.application_key,
            client_key=sim.client_key,
            default_location="sim-eu",
            # the panel's limits, raised as a big host's panel raises them (the simulator's
            # switches below): at the default 240 a minute, 2,000 suspensions take ten minutes
            application_requests_per_minute=1_000_000,
            client_requests_per_minute=1_000_000,
        )
        from kernel.plugins.settings import set_settings

        set_settings(app.extensions["pteroca"].discovered["store"].manifest, {"sweep_batch": BATCH})
        from builtin_plugins.pterodactyl.client import PanelClient

        with PanelClient(sim.url, sim.application_key, sim.client_key) as panel:
            # unlimited memory and disk: the node keeps room for the purchase of part 2
            product = panel_product(
                paper_settings(
                    panel, memory=0, disk=0, io=500, cpu=100, databases=0, allocations=1, backups=0
                ),
                slug="seeded",
                price=100,
            )
            for_sale = panel_product(paper_settings(panel), slug="for-sale", price=100)
        emails = [f"c{n}@example.com" for n in range(SERVERS // PER_CUSTOMER)]
        users = [
            User(
                email=e,
                name=e.split("@")[0],
                role_name="customer",
                password_hash="!",
                token_version=0,
                language="",
            )
            for e in emails
        ]
        db.session.add_all(users)
        db.session.flush()
        panel_users = sim.seed_users(emails)
        db.session.add_all(
            UserLink(
                user_id=u.id,
                panel_user_id=p,
                panel_username=f"p{p}",
                origin="linked",
                last_error="",
            )
            for u, p in zip(users, panel_users, strict=True)
        )
        expired = utcnow() - timedelta(hours=1)
        services = [
            Service(
                user_id=users[n // PER_CUSTOMER].id,
                product_id=product.id,
                plan_id=product.plans[0].id,
                name=f"server {n}",
                state="active",
                suspension="",
                expires_at=expired,
                auto_renew=False,
                slots=1,
                price=100,
                charged=100,
                options={},
                last_error="",
                desired_state="active",
                panel_state="active",
                sync_status="ok",
            )
            for n in range(SERVERS)
        ]
        db.session.add_all(services)
        db.session.flush()
        server_ids = sim.seed_servers(
            [panel_users[n // PER_CUSTOMER] for n in range(SERVERS)],
            names=[s.name for s in services],
            external_ids=[f"pteroca-{s.id}" for s in services],
            limits={"memory": 0, "disk": 0},
        )
        for service, server_id in zip(services, server_ids, strict=True):
            service.external_id = str(server_id)
        db.session.add_all(
            ServerLink(service_id=s.id, server_id=p, origin="imported")
            for s, p in zip(services, server_ids, strict=True)
        )
        db.session.commit()
        ids, product_id = [s.id for s in services], for_sale.id
        db.session.remove()
    return ids, product_id


def counts_by_state(app) -> Counter:
    from builtin_plugins.store.models import Service

    with app.app_context():
        found = Counter(
            dict(
                db.session.execute(
                    db.select(Service.state, db.func.count()).group_by(Service.state)
                ).all()
            )
        )
        db.session.remove()
    return found


def test_killed_scheduler_mid_sweep_and_killed_worker_mid_provisioning(cluster, processes):  # noqa: F811
    from simulators.pterodactyl import Simulator

    env, workdir = cluster["env"], cluster["dir"]
    result = pteroca(env["a"], "init", "--admin-email", ADMIN[0], "--admin-password", ADMIN[1])
    assert result.returncode == 0, result.stderr
    for plugin in ("store", "panel_kit", "pterodactyl"):
        risk = ["--accept-risk"] if plugin == "pterodactyl" else []  # its passwords capability
        result = pteroca(env["a"], "plugin", "enable", plugin, "--yes", *risk)
        assert result.returncode == 0, result.stdout + result.stderr
    # The daily and hourly tasks' current slots run now, while there is nothing to do, so the
    # schedulers started below run the lifecycle sweep first.
    result = pteroca(env["a"], "cron", "run")
    assert result.returncode == 0, result.stdout + result.stderr
    sim = Simulator(
        port=free_port(),
        install_seconds=1,
        power_seconds=0,
        application_key=panel_key("ptla_"),
        client_key=panel_key("ptlc_"),
    ).start()
    try:
        sim.set_switches(application_rate_limit=1_000_000, client_rate_limit=1_000_000)
        app = build_app(cluster)
        ids, product_id = seed(app, sim)
        worker = sweep_and_kill(app, sim, env, workdir, processes, ids)
        provision_and_kill(app, sim, env, workdir, processes, worker, product_id)
    finally:
        sim.stop()


def lifecycle_owner(app):
    from kernel.cron import CronRun

    with app.app_context():
        row = db.session.scalar(
            db.select(CronRun).where(CronRun.task == "store.lifecycle", CronRun.status == "running")
        )
        owner = (row.owner, row.slot) if row else None
        db.session.remove()
    return owner


def sweep_and_kill(app, sim, env, workdir, processes, ids):
    from builtin_plugins.store.models import Service
    from kernel.cron import CronRun
    from kernel.mail import EmailLog
    from kernel.models import AuditLog

    worker = processes(env["a"], "worker", log=workdir / "worker-1.log")
    schedulers = {
        name: processes(
            env[name], "scheduler", "--interval", "0.5", log=workdir / f"scheduler-{name}.log"
        )
        for name in ("a", "b")
    }

    # --- the scheduler running the sweep dies half way -------------------------------------
    def half_way():
        suspended = counts_by_state(app)["suspended"]
        return lifecycle_owner(app) if 0 < suspended < SERVERS else None

    owner, slot = wait_until(half_way, 90, "the sweep is half way", interval=0.02)
    pid = int(owner.rsplit(":", 1)[1])
    victim = next(s for s in schedulers.values() if s.pid == pid)
    kill_machine(victim)
    suspended_at_kill = counts_by_state(app)["suspended"]
    assert suspended_at_kill < SERVERS, "the sweep ended before the kill: too fast a machine?"

    # --- the other scheduler takes over; the worker pushes everything to the panel ---------
    progress = {}

    def converged():
        with app.app_context():
            progress["synced"] = db.session.scalar(
                db.select(db.func.count(Service.id)).where(
                    Service.state == "suspended", Service.sync_status == "ok"
                )
            )
            progress["mailed"] = db.session.scalar(
                db.select(db.func.count(EmailLog.id)).where(
                    EmailLog.template == "store/server_suspended", EmailLog.status == "sent"
                )
            )
            db.session.remove()
        progress["in panel"] = sum(
            1 for s in sim.snapshot()["servers"] if s["status"] == "suspended"
        )
        return set(progress.values()) == {SERVERS}

    try:
        wait_until(
            converged, 300, "every server suspended here, in the panel and emailed", interval=1
        )
    except AssertionError as exc:
        raise AssertionError(f"{exc}; {progress}") from None
    with app.app_context():
        [run] = db.session.scalars(
            db.select(CronRun).where(CronRun.task == "store.lifecycle", CronRun.slot == slot)
        ).all()
        assert run.status == "ok" and run.attempts == 2  # taken over once
        audited = Counter(
            db.session.scalars(
                db.select(AuditLog.target).where(AuditLog.action == "store.suspended")
            )
        )
        assert set(audited) == {f"service:{i}" for i in ids} and set(audited.values()) == {1}
        owners = dict(db.session.execute(db.select(Service.id, Service.user_id)).all())
        from kernel.accounts.models import User

        emails = dict(db.session.execute(db.select(User.id, User.email)).all())
        sent = db.session.scalars(
            db.select(EmailLog).where(EmailLog.template == "store/server_suspended")
        ).all()
        per_service = Counter(int(e.key.split(":")[2]) for e in sent)
        assert set(per_service) == set(ids) and set(per_service.values()) == {1}
        for entry in sent:  # each customer got exactly the emails of their own servers
            assert entry.recipient == emails[owners[int(entry.key.split(":")[2])]]
        by_customer = Counter(e.recipient for e in sent)
        assert set(by_customer.values()) == {PER_CUSTOMER}
        from tests.pterodactyl.conftest import mismatches

        assert mismatches(sim) == []
        db.session.remove()
    return worker


def provision_and_kill(app, sim, env, workdir, processes, worker, product_id) -> None:
    from builtin_plugins.store.models import Product, Service
    from builtin_plugins.store.testing import buy
    from kernel.accounts.services import create_user
    from kernel.payments import ledger

    sim.set_switches(delay_next_create=15)  # the panel makes the server, then answers late
    with app.app_context():
        buyer = create_user("late@example.com", "late-buyer-password", verified=True)
        ledger.credit(buyer.id, 500, "adjustment", "seed:late")
        service_id = buy(buyer, db.session.get(Product, product_id), name="Paid and waiting").id
        buyer_id = buyer.id
        db.session.remove()
    external = f"pteroca-{service_id}"
    wait_until(
        lambda: any(s["external_id"] == external for s in sim.snapshot()["servers"]),
        60,
        "the worker is creating the server",
    )
    kill_machine(worker)
    back = time.monotonic()
    processes(env["a"], "worker", log=workdir / "worker-2.log")

    def active():
        with app.app_context():
            service = db.session.get(Service, service_id)
            state = (service.state, service.sync_status)
            db.session.remove()
        return state == ("active", "ok")

    wait_until(active, 90, "the paid service is active")
    waited = time.monotonic() - back
    assert waited < 60, f"the paid service waited {waited:.0f} s after the worker was back"
    assert [s["external_id"] for s in sim.snapshot()["servers"]].count(external) == 1
    with app.app_context():
        assert ledger.balance(buyer_id) == 400 == ledger.ledger_sum(buyer_id)  # charged once
        from tests.pterodactyl.conftest import mismatches

        assert mismatches(sim) == []
        db.session.remove()
