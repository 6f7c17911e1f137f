"""The ``pteroca`` command line (a Flask CLI group)."""

from __future__ import annotations

import json
import sys

import click
from flask import current_app
from flask.cli import FlaskGroup, with_appcontext

from kernel import __version__


def _create_app():
    from kernel.app import create_cli_app

    return create_cli_app()  # `pteroca plugin ...` builds no routes unless a URL is needed


@click.group(cls=FlaskGroup, create_app=_create_app, add_version_option=False, load_dotenv=False)
@click.version_option(__version__, prog_name="pteroca")
def main():
    """pteroca: client area and billing panel for game-server hosts."""


from kernel.cli_support import fail, failing_on, progress_printer  # noqa: E402


def _refusals() -> tuple[type[Exception], ...]:
    from kernel.accounts.services import AccountError
    from kernel.plugin_lifecycle.services import user_errors as plugin_errors
    from kernel.setting_types import SettingError

    return (*plugin_errors(), AccountError, SettingError, KeyError)


user_errors = failing_on(_refusals)

# --- init and db -----------------------------------------------------------------


@main.command("init")
@click.option("--admin-email", default=None, help="Create this admin account if it does not exist.")
@click.option(
    "--admin-password", default=None, help="Its password (default: generated and printed)."
)
@with_appcontext
@user_errors
def init_command(admin_email, admin_password):
    """Create the instance folder and database, apply every migration, optionally add an admin."""
    import secrets

    from kernel.accounts.models import User
    from kernel.accounts.services import create_user, normalise_email
    from kernel.extensions import db
    from kernel.plugin_lifecycle.services import upgrade_all

    done = upgrade_all(progress=progress_printer("migrating"))
    click.echo(f"instance: {current_app.instance_path}")
    click.echo(f"database ready ({', '.join(done)})")
    if admin_email:
        if db.session.scalar(db.select(User).where(User.email == normalise_email(admin_email))):
            click.echo(f"admin account {admin_email} already exists")
        else:
            password = admin_password or secrets.token_urlsafe(12)
            create_user(
                admin_email, password, name="Admin", role="admin", actor="cli", verified=True
            )
            click.echo(
                f"admin account: {admin_email}"
                + ("" if admin_password else f" / password: {password} (shown once)")
            )


@main.group("db")
def db_group():
    """Database migrations."""


@db_group.command("upgrade")
@with_appcontext
@user_errors
def db_upgrade():
    """Upgrade the kernel and every enabled plugin to their latest migrations."""
    from kernel.plugin_lifecycle.services import upgrade_all

    done = upgrade_all(progress=progress_printer("migrating"))
    click.echo(f"upgraded: {', '.join(done)}")


# --- users -------------------------------------------------------------------------


@main.group("user")
def user_group():
    """User accounts."""


@user_group.command("create")
@click.argument("email")
@click.option("--password", help="Prompted for (hidden, twice) when omitted.")
@click.option("--name", default="", help="Display name (default: the part before @).")
@click.option("--admin", "is_admin", is_flag=True, help="Give the admin role.")
@click.option("--role", default=None, help="Role name (default: customer).")
@with_appcontext
@user_errors
def user_create(email, password, name, is_admin, role):
    """Create a user account."""
    from kernel.accounts.services import create_user

    if is_admin and role and role != "admin":
        fail("--admin and --role are exclusive")
    if password is None:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    user = create_user(
        email,
        password,
        name=name,
        role="admin" if is_admin else role or "customer",
        actor="cli",
        verified=True,
    )
    click.echo(f"created {user.email} ({user.role_name})")


# --- cron --------------------------------------------------------------------------


@main.group("cron")
def cron_group():
    """Scheduled tasks from plugins."""


@cron_group.command("list")
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
def cron_list(as_json):
    """List cron tasks with their schedule, next run and last result."""
    from kernel import clock
    from kernel.cron import last_run, registered_tasks

    now = clock.now()
    rows = []
    for task in registered_tasks().values():
        last = last_run(task.name)
        rows.append(
            {
                "name": task.name,
                "schedule": task.schedule,
                "description": task.description,
                "next_run": task.next_run(now).isoformat(timespec="minutes"),
                "last_status": last.status if last else None,
                "last_slot": last.slot.isoformat(timespec="minutes") if last else None,
            }
        )
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    for row in rows:
        click.echo(
            f"{row['name']:<32} {row['schedule']:<16} next {row['next_run']}  "
            f"last {row['last_status'] or '-'}  {row['description']}"
        )


@cron_group.command("run")
@click.option("--task", "only", default=None, help="Run only this task.")
@click.option("--force", is_flag=True, help="Run now even if not due (with --task).")
@with_appcontext
@user_errors
def cron_run(only, force):
    """Run the tasks that are due (call every minute from the system crontab)."""
    from kernel.cron import run_due

    runs = run_due(only=only, force=force)
    for run in runs:
        click.echo(f"{run.task}: {run.status}{' - ' + run.error if run.error else ''}")
    if not runs:
        click.echo("nothing due")
    if any(run.status == "failed" for run in runs):
        sys.exit(1)


@main.command("run")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--reload", is_flag=True, help="Restart when Python files change.")
def run_command(host, port, reload):
    """Development server that follows plugin changes (hot swap), like production does."""
    from werkzeug.serving import run_simple

    from kernel.wsgi import HotSwapApplication

    click.echo(f"pteroca {__version__} on http://{host}:{port}/")
    run_simple(host, port, HotSwapApplication(), threaded=True, use_reloader=reload)


@main.command("demo")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option(
    "--balance",
    default="100.00",
    show_default=True,
    help="Wallet balance credited once to the demo customer.",
)
@click.option("--no-serve", is_flag=True, help="Prepare the demo, print the accounts and exit.")
@click.option(
    "--panel",
    type=click.Choice(["pterodactyl", "pelican"]),
    default="pterodactyl",
    show_default=True,
    help="The panel whose simulator the demo sells servers on.",
)
@with_appcontext
@user_errors
def demo_command(host, port, balance, no_serve, panel):
    """Try everything on SQLite: builtin plugins on, a panel simulator (Pterodactyl, or
    Pelican with --panel pelican), a catalog, an admin and a customer with money (docs/demo
    in README)."""
    from kernel import demo, site_settings
    from kernel.payments.money import MoneyError, parse_amount
    from kernel.plugin_lifecycle.services import upgrade_all

    click.echo("preparing the demo (the first run migrates and scans every plugin: a minute)...")
    upgrade_all()
    try:
        amount = parse_amount(balance, site_settings.get("currency"))
    except MoneyError as exc:
        fail(f"--balance: {exc}")
    base = f"http://{host}:{port}"
    local = demo.local_settings(current_app.config, base)
    report = demo.seed(current_app, echo=click.echo, balance=amount, settings=local, panel=panel)
    click.echo("")
    click.echo(f"plugins enabled: {', '.join(report.enabled) or 'none'}")
    for name, why in report.skipped.items():
        click.echo(f"plugin {name} stays off: {why}")
    for line in report.lines:
        click.echo(line)
    click.echo(demo.mail_whereabouts(local.get("MAIL_URL") or current_app.config["MAIL_URL"], base))
    if no_serve:
        _print_accounts(report, base)
        return
    import os
    import threading

    from werkzeug.serving import make_server

    from kernel.scheduler import Scheduler
    from kernel.wsgi import HotSwapApplication

    for name, value in local.items():  # the apps the server builds read the environment
        os.environ.setdefault(f"PTEROCA_{name}", value)
    current_app.config.update(local)
    # make_server, not run_simple: no development-server banner after the accounts, which a
    # first-time user must find as the last lines printed (requests are still logged).
    server = make_server(host, port, HotSwapApplication(), threaded=True)
    # The cron tasks run too (installs followed, renewals, suspensions), as a scheduler would.
    scheduler = Scheduler(current_app._get_current_object(), interval=5)
    threading.Thread(target=scheduler.run, name="demo-scheduler", daemon=True).start()
    click.echo(f"pteroca {__version__} demo on {base}/  (Ctrl-C stops it)")
    _print_accounts(report, base)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


def _print_accounts(report, base: str) -> None:
    """The demo's accounts: always the last lines printed, where a new user looks."""
    from kernel import demo

    click.echo(f"(the passwords are kept in {current_app.instance_path}/{demo.CREDENTIALS_FILE})")
    click.echo(f"admin:    {report.admin[0]} / {report.admin[1]}  ->  {base}/admin/")
    click.echo(f"customer: {report.customer[0]} / {report.customer[1]}  ->  {base}/login")


# --- production processes (docs/deployment.md) --------------------------------------


@main.command("serve")
@click.option(
    "--bind",
    "-b",
    multiple=True,
    default=["127.0.0.1:8000"],
    show_default=True,
    help="Address to listen on: HOST:PORT or unix:PATH (repeatable).",
)
@click.option(
    "--workers",
    "-w",
    type=int,
    default=None,
    help="Worker processes (default: 2 x CPU cores + 1, at most 8).",
)
@click.option(
    "--threads",
    type=int,
    default=1,
    show_default=True,
    help="Threads per worker (more than 1 uses gunicorn's gthread workers).",
)
@click.option(
    "--timeout",
    type=int,
    default=60,
    show_default=True,
    help="Seconds a request may take before its worker is restarted.",
)
@click.option(
    "--graceful-timeout",
    type=int,
    default=30,
    show_default=True,
    help="Seconds workers get to finish requests on reload or stop.",
)
@click.option(
    "--max-requests",
    type=int,
    default=1000,
    show_default=True,
    help="Recycle a worker after this many requests (0: never).",
)
@click.option(
    "--access-log",
    default="-",
    show_default=True,
    help="Access log file, '-' for stdout, 'off' for none.",
)
@click.option("--error-log", default="-", show_default=True, help="Error log file, '-' for stderr.")
@click.option(
    "--log-level",
    default="info",
    show_default=True,
    type=click.Choice(["debug", "info", "warning", "error", "critical"]),
)
@click.option(
    "--proxy-hops",
    type=int,
    default=0,
    show_default=True,
    help="Reverse proxies in front whose X-Forwarded-For/-Proto to trust (nginx: 1).",
)
@click.option("--pidfile", default=None, help="Write the master's pid here.")
def serve_command(
    bind,
    workers,
    threads,
    timeout,
    graceful_timeout,
    max_requests,
    access_log,
    error_log,
    log_level,
    proxy_hops,
    pidfile,
):
    """Production web server: a gunicorn master serving kernel.wsgi:application.

    SIGHUP reloads gracefully (new workers, old ones finish their requests); SIGTERM stops.
    """
    from kernel.serve import ServeOptions, serve

    options = ServeOptions(
        bind=list(bind),
        workers=workers,
        threads=threads,
        timeout=timeout,
        graceful_timeout=graceful_timeout,
        max_requests=max_requests,
        access_log=access_log,
        error_log=error_log,
        log_level=log_level,
        proxy_hops=proxy_hops,
        pidfile=pidfile,
    )
    try:
        options.gunicorn_settings()
    except ValueError as exc:
        fail(str(exc))
    serve(options)


@main.command("worker")
@click.option(
    "--queues",
    "-q",
    default=None,
    help="Comma-separated queues to work; they take turns, so no backlog holds back another "
    "queue (default: provisioning,mail,default).",
)
@click.option("--burst", is_flag=True, help="Stop when the queues are empty.")
@click.option(
    "--name",
    default=None,
    help="Worker name prefix (default: the host name); every start adds .<pid>.<random> "
    "so a restarted worker never waits for its old name to expire.",
)
@click.pass_context
@user_errors
def worker_command(ctx, queues, burst, name):
    """Run background jobs from Redis (PTEROCA_REDIS_URL), following the plugin generation."""
    from flask.cli import ScriptInfo

    from kernel import jobs, worker

    app = ctx.ensure_object(ScriptInfo).load_app()
    names = [q.strip() for q in (queues or ",".join(jobs.QUEUES)).split(",") if q.strip()]
    try:
        built = worker.build_worker(app, names, name=name)
    except jobs.JobError as exc:
        fail(str(exc))
    click.echo(
        f"worker {built.name} on {', '.join(names)}"
        f"{' (burst)' if burst else ''}, plugin generation {built.hotswap.generation}"
    )
    built.work(burst=burst, with_scheduler=True, logging_level="INFO")


@main.command("scheduler")
@click.option("--once", is_flag=True, help="One pass (run what is due now), then exit.")
@click.option(
    "--interval",
    type=float,
    default=10.0,
    show_default=True,
    help="Seconds between passes (tasks also start at each minute boundary).",
)
@click.pass_context
@user_errors
def scheduler_command(ctx, once, interval):
    """Run cron tasks on time; any number of schedulers may run, each slot runs once."""
    from flask.cli import ScriptInfo

    from kernel.scheduler import Scheduler

    if interval <= 0:
        fail("--interval must be a positive number of seconds")
    app = ctx.ensure_object(ScriptInfo).load_app()
    Scheduler(app, interval=interval, echo=lambda line: click.echo(line)).run(once=once)


from kernel.plugin_lifecycle import cli as _plugin_cli  # noqa: E402

main.add_command(_plugin_cli.plugin_group)

from kernel.theme_cli import theme_group  # noqa: E402

main.add_command(theme_group)


class _SimulatorGroup(click.Group):
    """``pteroca simulator ...``, imported from the shipped ``simulators`` package on first use
    so that ``pteroca --help`` stays fast (and works where the simulators were left out)."""

    def _real(self) -> click.Group | None:
        try:
            from simulators.cli import simulator_group
        except ImportError:
            return None
        return simulator_group

    def list_commands(self, ctx):
        real = self._real()
        return real.list_commands(ctx) if real else []

    def get_command(self, ctx, name):
        real = self._real()
        return real.get_command(ctx, name) if real else None


main.add_command(
    _SimulatorGroup(
        "simulator",
        help="Simulated outside services (a Pterodactyl or Pelican panel) for demos and tests.",
    )
)
