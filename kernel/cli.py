"""The ``pteroca`` command line (a Flask CLI group)."""

from __future__ import annotations

import json
import sys

import click
from flask import current_app
from flask.cli import FlaskGroup, with_appcontext

from kernel import __version__


def _create_app():
    from kernel.app import create_app

    return create_app()


@click.group(cls=FlaskGroup, create_app=_create_app, add_version_option=False, load_dotenv=False)
@click.version_option(__version__, prog_name="pteroca")
def main():
    """pteroca: client area and billing panel for game-server hosts."""


from kernel.cli_support import fail, progress_printer, user_errors  # noqa: E402


# --- init and db -----------------------------------------------------------------


@main.command("init")
@click.option("--admin-email", default=None, help="Create this admin account if it does not exist.")
@click.option("--admin-password", default=None, help="Its password (default: generated and printed).")
@with_appcontext
@user_errors
def init_command(admin_email, admin_password):
    """Create the instance folder and database, apply every migration, optionally add an admin."""
    import secrets

    from kernel.accounts.models import User
    from kernel.accounts.services import create_user, normalise_email
    from kernel.extensions import db
    from kernel.plugins.services import upgrade_all

    done = upgrade_all(progress=progress_printer("migrating"))
    click.echo(f"instance: {current_app.instance_path}")
    click.echo(f"database ready ({', '.join(done)})")
    if admin_email:
        if db.session.scalar(db.select(User).where(User.email == normalise_email(admin_email))):
            click.echo(f"admin account {admin_email} already exists")
        else:
            password = admin_password or secrets.token_urlsafe(12)
            create_user(admin_email, password, name="Admin", role="admin", actor="cli",
                        verified=True)
            click.echo(f"admin account: {admin_email}" +
                       ("" if admin_password else f" / password: {password} (shown once)"))


@main.group("db")
def db_group():
    """Database migrations."""


@db_group.command("upgrade")
@with_appcontext
@user_errors
def db_upgrade():
    """Upgrade the kernel and every enabled plugin to their latest migrations."""
    from kernel.plugins.services import upgrade_all

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
    user = create_user(email, password, name=name, role="admin" if is_admin else role or "customer",
                       actor="cli", verified=True)
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
    from kernel.cron import last_run, registered_tasks
    from kernel.models import utcnow

    now = utcnow()
    rows = []
    for task in registered_tasks().values():
        last = last_run(task.name)
        rows.append({"name": task.name, "schedule": task.schedule, "description": task.description,
                     "next_run": task.next_run(now).isoformat(timespec="minutes"),
                     "last_status": last.status if last else None,
                     "last_slot": last.slot.isoformat(timespec="minutes") if last else None})
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    for row in rows:
        click.echo(f"{row['name']:<32} {row['schedule']:<16} next {row['next_run']}  "
                   f"last {row['last_status'] or '-'}  {row['description']}")


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


from kernel.plugins import cli as _plugin_cli  # noqa: E402

main.add_command(_plugin_cli.plugin_group)

from kernel.theme_cli import theme_group  # noqa: E402

main.add_command(theme_group)
