"""The connection test: which of URL, keys and permissions is wrong, in words to act on."""

from __future__ import annotations

from builtin_plugins.panel_kit.api import (  # noqa: F401 - the plugin's names for them
    Check,
    ConnectionReport,
    RetryPolicy,
    Timeouts,
    errors,
    url_problem,
)
from builtin_plugins.pterodactyl.panel import PanelSettings, make_client

ONE_TRY = RetryPolicy(attempts=1, rate_limit_attempts=1)
SHORT = Timeouts(read=10.0, wings=10.0, connect=5.0)
# (path, what the key needs) checked with the application key, each with ?per_page=1
APPLICATION_READS = (
    ("/locations", "locations"),
    ("/nodes", "nodes"),
    ("/nests", "nests"),
    ("/users", "users"),
    ("/servers", "servers"),
)


_url_problem = url_problem  # the kit's check


def _key_shape(key: str, wanted: str, other: str, label: str) -> str | None:
    if not key:
        return f"No {label} is set."
    if key.startswith(other):
        kind = "a client key" if other == "ptlc_" else "an application key"
        return f"The {label} is {kind} ({other}...); the {label} starts with {wanted} " + (
            "(Admin > Application API)."
            if wanted == "ptla_"
            else "(Account > API Credentials of a root admin)."
        )
    return None


def _explain(exc: errors.PanelError, url: str, label: str, resource: str = "") -> str:
    if isinstance(exc, errors.PanelUnreachable):
        return f"Cannot reach the panel at {url}: {exc}"
    if isinstance(exc, errors.NotAPanel):
        return (
            f"{url} answered HTTP {exc.status}, but not as a Pterodactyl panel API: check the "
            "address (the panel's own URL, without /api)."
        )
    if isinstance(exc, errors.AuthenticationFailed):
        return (
            f"The panel refused the {label} (401 Unauthenticated): check that it was copied "
            "whole and has not been deleted."
        )
    if isinstance(exc, errors.WrongKeyType):
        return f"The {label} is an application key; the client API needs a client key (ptlc_)."
    if isinstance(exc, errors.NotRootAdmin):
        return f"The {label} belongs to a user who is not a root admin (403): {exc.detail}"
    if isinstance(exc, errors.TwoFactorRequired):
        return (
            f"The panel requires two-factor authentication for the owner of the {label}: "
            f"{exc.detail}"
        )
    if isinstance(exc, errors.PermissionDenied):
        what = f" read permission on {resource}" if resource else " permission"
        return (
            f"The {label} lacks{what} (403 {exc.detail}): edit the key in Admin > Application API."
        )
    if isinstance(exc, errors.NotFound):
        return (
            f"{url} has no Pterodactyl API at this path (404): check the address; a Pelican "
            "panel has no nests and is not supported yet."
        )
    return f"The panel answered an unexpected error: {exc}"


def check_connection(settings: PanelSettings) -> ConnectionReport:
    """Check the URL, the application key (and its read permissions) and the client key."""
    report = ConnectionReport()
    problem = _url_problem(settings.url)
    if not report.add("url", problem is None, problem or f"Panel URL {settings.url}"):
        return report
    app_ok = _check_application(report, settings)
    _check_client(report, settings, reachable=app_ok is not False)
    return report


def _check_application(report: ConnectionReport, settings: PanelSettings) -> bool | None:
    label = "application key"
    problem = _key_shape(settings.application_key, "ptla_", "ptlc_", label)
    if problem:
        report.add("application_key", False, problem)
        return None
    with make_client(settings, retry=ONE_TRY, timeouts=SHORT) as client:
        missing = []
        for path, resource in APPLICATION_READS:
            try:
                client.app.t.request("GET", path, params={"per_page": 1})
            except errors.PermissionDenied as exc:
                if isinstance(exc, errors.NotRootAdmin | errors.WrongKeyType):
                    report.add("application_key", False, _explain(exc, settings.url, label))
                    return True
                missing.append(resource)
            except errors.PanelError as exc:
                report.add("application_key", False, _explain(exc, settings.url, label, resource))
                return not isinstance(exc, errors.PanelUnreachable | errors.NotAPanel)
    if missing:
        report.add(
            "application_key",
            False,
            f"The application key lacks read permission on {', '.join(missing)}: give it "
            "read & write on servers, nodes, allocations, users, locations, nests and eggs.",
        )
    else:
        report.add(
            "application_key",
            True,
            "Application key accepted; it can read "
            + ", ".join(r for _, r in APPLICATION_READS)
            + ".",
        )
    return True


def _check_client(report: ConnectionReport, settings: PanelSettings, *, reachable: bool) -> None:
    label = "client key"
    problem = _key_shape(settings.client_key, "ptlc_", "ptla_", label)
    if problem:
        report.add("client_key", False, problem)
        return
    if not reachable:
        return
    with make_client(settings, retry=ONE_TRY, timeouts=SHORT) as client:
        try:
            account = client.client.account()
        except errors.PanelError as exc:
            report.add("client_key", False, _explain(exc, settings.url, label))
            return
    name = account.get("username") or account.get("email") or "?"
    if not account.get("admin"):
        report.add(
            "client_key",
            False,
            f"The client key belongs to {name}, who is not a root admin: it can only reach "
            "that user's servers. Create the key on a root-admin account.",
        )
        return
    report.add("client_key", True, f"Client key of root admin {name} accepted.")
