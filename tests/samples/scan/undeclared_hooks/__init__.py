import kernel
from kernel import hookimpl
from kernel import hookimpl as impl

from .more import health_checks  # noqa: F401

marker = impl


@hookimpl
def register_blueprints(app):
    return []


@impl
def dashboard_widgets(user):
    return []


@kernel.hookimpl(specname="register_cron_tasks")
def tasks():
    return []


def _menu(user):
    return []


client_menu_items = marker(_menu)
