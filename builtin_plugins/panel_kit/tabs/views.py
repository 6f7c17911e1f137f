"""The server tabs' pages and actions (thin: the rules live in access.py
and one module per tab: console.py, startup.py, backups.py, ...).

The routes are declared once, here, for every panel; :func:`tabs_blueprint` builds one
blueprint per panel plugin (:class:`~.adapter.PanelTabs`) from them. Every route takes
the store service id and goes through :func:`_guarded`, which resolves the viewer's
access to *that panel's* service (404 for a server that is not theirs nor shared with
them, or not this panel's), checks the route's permission (403) and turns a
:class:`TabError` into a flash message and the tab page again with the error's status
(or JSON for the console's script). Forms work without JavaScript; successful actions
redirect (303).

A tab's page is registered with :func:`tab_page` (or :func:`tab_view` for a hand-made
one), its forms with :func:`tab_action`: the action's view does the work and returns the
message to flash; the failure handling above is tab_route's, for all of them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required

from builtin_plugins.panel_kit.tabs import access as rules
from builtin_plugins.panel_kit.tabs import (
    activity,
    backups,
    console,
    databases,
    network,
    reinstall,
    schedules,
    startup,
    subusers,
)
from builtin_plugins.panel_kit.tabs.access import Access
from builtin_plugins.panel_kit.tabs.actions import TabError
from builtin_plugins.panel_kit.tabs.adapter import PanelTabs
from kernel import db, site_setting

# tab id -> (label, permission needed to see it, order, endpoint)
TABS: dict[str, tuple[str, str | None, int, str]] = {
    "console": ("Console", None, 10, "console"),
    "startup": ("Startup", "startup.read", 20, "startup"),
    "backups": ("Backups", "backup.read", 30, "backups"),
    "databases": ("Databases", "database.read", 40, "databases"),
    "network": ("Network", "allocation.read", 50, "network"),
    "users": ("Users", "user.read", 60, "users"),
    "schedules": ("Schedules", "schedule.read", 70, "schedules"),
    "activity": ("Activity", "activity.read", 80, "activity"),
    "reinstall": ("Reinstall", "settings.reinstall", 850, "reinstall"),
}


def tab_label(tab: str) -> str:
    labels = {
        "console": _("Console"),
        "startup": _("Startup"),
        "backups": _("Backups"),
        "databases": _("Databases"),
        "network": _("Network"),
        "users": _("Users"),
        "schedules": _("Schedules"),
        "activity": _("Activity"),
        "reinstall": _("Reinstall"),
    }
    return labels[tab]


def tabs_for(panel: PanelTabs, service, user) -> list[dict[str, Any]]:
    """The ``server_tabs`` hook of ``panel``'s plugin: the tabs this viewer may open (none
    for other servers, another panel's included)."""
    if (
        not rules.is_panel_service(panel, service)
        or service.state != panel.store.ACTIVE
        or user is None
        or not getattr(user, "is_authenticated", False)
    ):
        return []
    try:
        access = rules.resolve(panel, service.id, user)
    except (rules.NoAccess, rules.Unavailable):
        return []
    return [
        {
            "id": tab,
            "label": tab_label(tab),
            "order": order,
            "url": url_for(f"{panel.blueprint}.{endpoint}", service_id=service.id),
        }
        for tab, (_label, permission, order, endpoint) in TABS.items()
        if rules.tab_permission_ok(access, permission)
    ]


# --- rendering ----------------------------------------------------------------------------


def wants_json() -> bool:
    best = request.accept_mimetypes.best_match(["application/json", "text/html"])
    return (
        best == "application/json"
        and request.accept_mimetypes[best] > request.accept_mimetypes["text/html"]
    )


def _first_found(names: list[str]) -> str:
    """The first of ``names`` the app's loaders (theme first) have: ``extends`` takes one name."""
    return current_app.jinja_env.select_template(names).name


def _shell(
    panel: PanelTabs, service, owner: bool, tab: str, page: str, status: int = 200, /, **context
):
    tabs = panel.store.server_tabs(service)
    if not owner:  # the store's own tabs (overview, settings, renew) are the owner's
        tabs = [t for t in tabs if t.get("id") in TABS]
    return render_template(
        panel.template(page),
        tabs_base=_first_found(panel.template("base.html")),
        tabs_bp=panel.blueprint,
        service=service,
        tabs=tabs,
        active_tab=tab,
        currency=site_setting("currency"),
        shared_view=not owner,
        **context,
    ), status


def render(access: Access, tab: str, page: str, status: int = 200, /, **context):
    """Tab page ``page`` (``console.html``...) of the access's panel, in the tabs' shell."""
    return _shell(
        access.panel, access.service, access.owner, tab, page, status, access=access, **context
    )


def message_page(panel: PanelTabs, service, owner: bool, tab: str, message: str, status: int):
    return _shell(panel, service, owner, tab, "message.html", status, message=message, access=None)


@dataclass(frozen=True)
class Route:
    """One tab endpoint, declared once for every panel (see :func:`tabs_blueprint`)."""

    rule: str
    endpoint: str
    tab: str
    permission: str | None
    methods: tuple[str, ...]
    page: Callable[..., Any] | None
    api: bool
    view: Callable[..., Any]


ROUTES: list[Route] = []


def tab_route(
    rule: str,
    tab: str,
    permission: str | None = None,
    methods=("GET",),
    page: Callable[..., Any] | None = None,
    api: bool = False,
):
    """Declare a tab endpoint: access (404), permission (403), errors (flash + status)."""

    def decorator(view):
        ROUTES.append(Route(rule, view.__name__, tab, permission, tuple(methods), page, api, view))
        return view

    return decorator


def _guarded(panel: PanelTabs, route: Route):
    """The view function of ``route`` on ``panel``'s blueprint."""
    api, tab, page, view = route.api, route.tab, route.page, route.view

    @wraps(view)
    @login_required
    def wrapper(service_id: int, **kwargs):
        try:
            access = rules.resolve(panel, service_id, current_user)
        except rules.NoAccess:
            abort(404)
        except rules.Unavailable as exc:
            if api or wants_json():
                return jsonify({"ok": False, "error": str(exc), "state": exc.state}), exc.status
            service = db.session.get(panel.store.Service, service_id)
            owner = service.user_id == current_user.id
            return message_page(panel, service, owner, tab, str(exc), exc.status)
        if not rules.tab_permission_ok(access, route.permission):
            denied = _("You do not have permission to do this on this server.")
            if api or wants_json():
                return jsonify({"ok": False, "error": denied}), 403
            return message_page(panel, access.service, access.owner, tab, denied, 403)
        try:
            return view(access, **kwargs)
        except TabError as exc:
            db.session.rollback()
            if api or wants_json():
                return jsonify({"ok": False, "error": str(exc)}), exc.status
            flash(str(exc), "error")
            if page is not None and request.method == "POST":
                return page(access, status=exc.status)
            return message_page(panel, access.service, access.owner, tab, str(exc), exc.status)

    return wrapper


def tabs_blueprint(panel: PanelTabs) -> Blueprint:
    """A new blueprint named ``panel.blueprint`` with every tab route of ``panel``.

    The panel plugin returns it from its ``register_blueprints`` hook, so the kernel mounts
    it under ``/plugins/<plugin>`` (plus ``panel.url_prefix``) like any of its pages. The
    kit's templates and static files are served as the kit plugin's own (scanned with it).
    """
    bp = Blueprint(panel.blueprint, __name__, url_prefix=panel.url_prefix or None)
    for route in ROUTES:
        bp.add_url_rule(
            route.rule,
            endpoint=route.endpoint,
            view_func=_guarded(panel, route),
            methods=list(route.methods),
        )

    @bp.get("/shared")
    @login_required
    def shared():
        return render_template(
            panel.template("shared.html"),
            tabs_bp=panel.blueprint,
            services=subusers.shared_with(panel, current_user),
        )

    return bp


def done(message: str, endpoint: str, access: Access, **values):
    if wants_json():
        return jsonify({"ok": True, "message": message})
    flash(message, "success")
    return redirect(
        url_for(f"{access.panel.blueprint}.{endpoint}", service_id=access.service.id, **values),
        303,
    )


def ticked(field: str) -> bool:
    """Whether the form's checkbox ``field`` is ticked."""
    return request.form.get(field) in ("1", "on", "true")


def _page_or_error(
    access: Access, tab: str, template: str, load: Callable[[], dict], status: int = 200, **extra
):
    """A tab page whose data comes from the panel; a failure shows in the page."""
    try:
        data = load()
        error = ""
    except TabError as exc:
        data, error = {}, str(exc)
        status = exc.status if status == 200 else status
    return render(access, tab, template, status, error=error, **data, **extra)


def tab_view(endpoint: str, rule: str, tab: str, permission: str | None = None):
    """Register the decorated ``page(access, status=200)`` as the GET route ``endpoint``.

    The page function comes back unchanged: the tab's actions show it again, with the
    error's status, when they fail (``page=`` of :func:`tab_action`).
    """

    def decorator(page: Callable[..., Any]) -> Callable[..., Any]:
        def view(access: Access, **_values):
            return page(access)

        view.__name__ = view.__qualname__ = endpoint
        tab_route(rule, tab, permission)(view)
        return page

    return decorator


def tab_page(
    endpoint: str,
    rule: str,
    permission: str | None,
    template: str,
    load: Callable[[Access], dict],
    *,
    tab: str | None = None,
    **extra,
):
    """A GET tab page showing ``template`` with ``load(access)`` (a panel failure shows in
    the page); returns the page function for the tab's actions."""
    tab = tab or endpoint

    def page(access: Access, status: int = 200):
        return _page_or_error(access, tab, template, lambda: load(access), status, **extra)

    return tab_view(endpoint, rule, tab, permission)(page)


def tab_action(
    rule: str,
    tab: str,
    permission: str | None,
    page: Callable[..., Any],
    back: str | None = None,
    keep: tuple[str, ...] = (),
):
    """Register the decorated view as a POST action (its name is the endpoint).

    The view does the work and returns the success message: it is flashed and the browser
    redirected (303) to ``back`` (the tab's own page by default) with the URL values named
    in ``keep``. A view that redirects elsewhere returns its own response (see :func:`done`).
    Access, permission and a failure (``page`` again with the error's status) are
    :func:`tab_route`'s.
    """

    def decorator(view):
        @wraps(view)
        def act(access: Access, **values):
            result = view(access, **values)
            if not isinstance(result, str):
                return result
            return done(result, back or tab, access, **{name: values[name] for name in keep})

        return tab_route(rule, tab, permission, methods=("POST",), page=page)(act)

    return decorator


# --- console, power, usage ----------------------------------------------------------------


@tab_view("console", "/servers/<int:service_id>/console", "console")
def console_page(access: Access, status: int = 200):
    from flask import make_response

    from kernel import content_security_policy, csp_nonce

    socket_origin = ""
    console_error = ""
    if access.live_console:
        try:
            socket_origin = console.socket_origin(console.console_credentials(access)["socket"])
        except TabError as exc:
            console_error = str(exc)
    else:
        console_error = _(
            "The live console needs the console and power permissions; ask the "
            "server's owner for them."
        )
    state = console.live_status(access)
    body, code = render(
        access,
        "console",
        "console.html",
        status,
        state=state,
        console_error=console_error,
        can_live=access.live_console and bool(socket_origin),
    )
    response = make_response(body, code)
    if socket_origin:  # let the page's script open the node's websocket, nothing else
        policy = content_security_policy(csp_nonce()).replace(
            "connect-src 'self'", f"connect-src 'self' {socket_origin}"
        )
        response.headers["Content-Security-Policy"] = policy
    return response


@tab_route("/servers/<int:service_id>/console/status", "console", api=True)
def console_status(access: Access):
    state = console.live_status(access)
    return jsonify(state), 200


@tab_route("/servers/<int:service_id>/console/credentials", "console", api=True)
def console_credentials(access: Access):
    found = console.console_credentials(access)
    response = jsonify({"ok": True, "token": found["token"], "socket": found["socket"]})
    response.headers["Cache-Control"] = "no-store"
    return response


@tab_action("/servers/<int:service_id>/power", "console", None, console_page)
def power(access: Access):
    signal = request.form.get("signal", "")
    console.power(access, signal)
    messages = {
        "start": _("Starting the server."),
        "stop": _("Stopping the server."),
        "restart": _("Restarting the server."),
        "kill": _("The server was killed."),
    }
    return messages.get(signal, _("Done."))


@tab_action("/servers/<int:service_id>/command", "console", "control.console", console_page)
def command(access: Access):
    console.send_command(access, request.form.get("command", ""))
    return _("Command sent.")


# --- startup --------------------------------------------------------------------------------


startup_page = tab_page(
    "startup",
    "/servers/<int:service_id>/startup",
    "startup.read",
    "startup.html",
    startup.startup,
)


@tab_action("/servers/<int:service_id>/startup", "startup", "startup.update", startup_page)
def startup_update(access: Access):
    changed = startup.update_variable(
        access, request.form.get("key", ""), request.form.get("value", "")
    )
    return _(
        "%(name)s is now %(value)s. Restart the server for it to take effect.",
        name=changed.name,
        value=changed.value or _("empty"),
    )


# --- backups --------------------------------------------------------------------------------


backups_page = tab_page(
    "backups",
    "/servers/<int:service_id>/backups",
    "backup.read",
    "backups.html",
    backups.backups,
)


@tab_action("/servers/<int:service_id>/backups", "backups", "backup.create", backups_page)
def backup_create(access: Access):
    backups.create_backup(access, request.form.get("name", ""), ticked("locked"))
    return _("The backup has started; it shows as finished here when it is done.")


@tab_route(
    "/servers/<int:service_id>/backups/<backup>/download",
    "backups",
    "backup.download",
    page=backups_page,
)
def backup_download(access: Access, backup: str):
    return redirect(backups.backup_download_url(access, backup), 303)


@tab_action(
    "/servers/<int:service_id>/backups/<backup>/lock", "backups", "backup.delete", backups_page
)
def backup_lock(access: Access, backup: str):
    found = backups.toggle_backup_lock(access, backup)
    return (
        _("The backup is locked: it cannot be deleted.")
        if found.get("is_locked")
        else _("The backup is unlocked.")
    )


@tab_action(
    "/servers/<int:service_id>/backups/<backup>/restore", "backups", "backup.restore", backups_page
)
def backup_restore(access: Access, backup: str):
    backups.restore_backup(access, backup, truncate=ticked("truncate"), confirmed=ticked("confirm"))
    return _("Restoring the backup; the server is unavailable until it finishes.")


@tab_action(
    "/servers/<int:service_id>/backups/<backup>/delete", "backups", "backup.delete", backups_page
)
def backup_delete(access: Access, backup: str):
    backups.delete_backup(access, backup)
    return _("The backup was deleted.")


# --- databases ------------------------------------------------------------------------------


databases_page = tab_page(
    "databases",
    "/servers/<int:service_id>/databases",
    "database.read",
    "databases.html",
    databases.databases,
)


@tab_action("/servers/<int:service_id>/databases", "databases", "database.create", databases_page)
def database_create(access: Access):
    created = databases.create_database(
        access, request.form.get("database", ""), request.form.get("remote", "%")
    )
    return _("The database %(name)s was created.", name=created.get("name", ""))


@tab_action(
    "/servers/<int:service_id>/databases/<database>/rotate",
    "databases",
    "database.update",
    databases_page,
)
def database_rotate(access: Access, database: str):
    databases.rotate_database_password(access, database)
    return _("The database password was changed; update your server's configuration.")


@tab_action(
    "/servers/<int:service_id>/databases/<database>/delete",
    "databases",
    "database.delete",
    databases_page,
)
def database_delete(access: Access, database: str):
    databases.delete_database(access, database)
    return _("The database was deleted.")


# --- network --------------------------------------------------------------------------------


network_page = tab_page(
    "network",
    "/servers/<int:service_id>/network",
    "allocation.read",
    "network.html",
    network.allocations,
)


@tab_action("/servers/<int:service_id>/network", "network", "allocation.create", network_page)
def allocation_add(access: Access):
    added = network.add_allocation(access)
    return _("Port %(port)s was added.", port=added.get("port", ""))


@tab_action(
    "/servers/<int:service_id>/network/<int:allocation>/notes",
    "network",
    "allocation.update",
    network_page,
)
def allocation_notes(access: Access, allocation: int):
    network.set_allocation_notes(access, allocation, request.form.get("notes", ""))
    return _("The notes were saved.")


@tab_action(
    "/servers/<int:service_id>/network/<int:allocation>/primary",
    "network",
    "allocation.update",
    network_page,
)
def allocation_primary(access: Access, allocation: int):
    network.set_primary_allocation(access, allocation)
    return _("The primary port was changed; restart the server to use it.")


@tab_action(
    "/servers/<int:service_id>/network/<int:allocation>/delete",
    "network",
    "allocation.delete",
    network_page,
)
def allocation_delete(access: Access, allocation: int):
    network.delete_allocation(access, allocation)
    return _("The port was removed.")


# --- subusers -------------------------------------------------------------------------------


users_page = tab_page(
    "users",
    "/servers/<int:service_id>/users",
    "user.read",
    "users.html",
    lambda access: {**subusers.subusers(access), "groups": access.panel.permission_groups},
)


@tab_action("/servers/<int:service_id>/users", "users", "user.create", users_page)
def user_invite(access: Access):
    created = subusers.invite_subuser(
        access, request.form.get("email", ""), request.form.getlist("permissions")
    )
    _warn_not_granted(created["not_granted"])
    return _(
        "%(email)s can now manage this server with the permissions you chose.",
        email=request.form.get("email", "").strip(),
    )


@tab_action("/servers/<int:service_id>/users/<uuid>", "users", "user.update", users_page)
def user_update(access: Access, uuid: str):
    _warn_not_granted(subusers.update_subuser(access, uuid, request.form.getlist("permissions")))
    return _("The permissions were saved.")


def _warn_not_granted(names: list[str]) -> None:
    if names:
        flash(
            _(
                "The panel did not grant these permissions, so the subuser does not have "
                "them: %(names)s.",
                names=", ".join(names),
            ),
            "warning",
        )


@tab_action("/servers/<int:service_id>/users/<uuid>/delete", "users", "user.delete", users_page)
def user_remove(access: Access, uuid: str):
    subusers.remove_subuser(access, uuid)
    return _("The subuser was removed.")


# --- schedules ------------------------------------------------------------------------------


schedules_page = tab_page(
    "schedules",
    "/servers/<int:service_id>/schedules",
    "schedule.read",
    "schedules.html",
    lambda access: {"items": schedules.schedules(access)},
)


@tab_action("/servers/<int:service_id>/schedules", "schedules", "schedule.create", schedules_page)
def schedule_create(access: Access):
    created = schedules.create_schedule(access, request.form.to_dict())
    return done(
        _("The schedule was created; add tasks to it below."),
        "schedule",
        access,
        schedule_id=created.get("id"),
    )


@tab_view(
    "schedule",
    "/servers/<int:service_id>/schedules/<int:schedule_id>",
    "schedules",
    "schedule.read",
)
def schedule_page(access: Access, status: int = 200):
    schedule_id = request.view_args.get("schedule_id")
    return _page_or_error(
        access,
        "schedules",
        "schedule.html",
        lambda: {"schedule": schedules.schedule(access, schedule_id)},
        status,
        schedule_id=schedule_id,
    )


@tab_action(
    "/servers/<int:service_id>/schedules/<int:schedule_id>/run",
    "schedules",
    "schedule.update",
    schedules_page,
)
def schedule_run(access: Access, schedule_id: int):
    schedules.run_schedule(access, schedule_id)
    return _("The schedule is running now.")


@tab_action(
    "/servers/<int:service_id>/schedules/<int:schedule_id>/delete",
    "schedules",
    "schedule.delete",
    schedules_page,
)
def schedule_delete(access: Access, schedule_id: int):
    schedules.delete_schedule(access, schedule_id)
    return _("The schedule was deleted.")


@tab_action(
    "/servers/<int:service_id>/schedules/<int:schedule_id>/tasks",
    "schedules",
    "schedule.update",
    schedule_page,
    back="schedule",
    keep=("schedule_id",),
)
def task_create(access: Access, schedule_id: int):
    schedules.create_task(access, schedule_id, request.form.to_dict())
    return _("The task was added.")


@tab_action(
    "/servers/<int:service_id>/schedules/<int:schedule_id>/tasks/<int:task_id>/delete",
    "schedules",
    "schedule.update",
    schedule_page,
    back="schedule",
    keep=("schedule_id",),
)
def task_delete(access: Access, schedule_id: int, task_id: int):
    schedules.delete_task(access, schedule_id, task_id)
    return _("The task was removed.")


# --- reinstall and activity -----------------------------------------------------------------


@tab_view("reinstall", "/servers/<int:service_id>/reinstall", "reinstall", "settings.reinstall")
def reinstall_page(access: Access, status: int = 200):
    return render(access, "reinstall", "reinstall.html", status)


@tab_action(
    "/servers/<int:service_id>/reinstall",
    "reinstall",
    "settings.reinstall",
    reinstall_page,
    back="console",
)
def reinstall_confirm(access: Access):
    reinstall.reinstall(access, confirmed=ticked("confirm"))
    return _("The server is reinstalling; the console shows the progress.")


tab_page(
    "activity",
    "/servers/<int:service_id>/activity",
    "activity.read",
    "activity.html",
    lambda access: activity.activity(access, request.args.get("page", default=1, type=int) or 1),
)


# --- servers shared with me -----------------------------------------------------------------


def menu_items(panel: PanelTabs, user) -> list[dict[str, Any]]:
    """A "Shared with me" menu entry for accounts that are subusers of ``panel``'s servers."""
    if user is None or not getattr(user, "is_authenticated", False):
        return []
    if db.session.scalar(subusers.shares(panel, user).limit(1)) is None:
        return []
    return [
        {
            "label": _("Shared with me"),
            "url": url_for(f"{panel.blueprint}.shared"),
            "order": panel.shared_menu_order,
        }
    ]
