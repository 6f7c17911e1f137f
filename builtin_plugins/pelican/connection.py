"""The connection test for Pelican: which of URL, keys and permissions is wrong, in words to
act on (reference §1.1, §10.1).

The application key is a ``papp_`` key (one carried over from Pterodactyl keeps its ``ptla_``
identifier and works); its per-resource permissions are read by asking each resource the
plugin uses: ``/eggs``, ``/nodes``, ``/users``, ``/servers`` (Pelican has no ``/locations``
nor ``/nests``: a 404 on ``/eggs`` means the URL is a Pterodactyl panel or not a panel). The
client key is a ``pacc_`` key of a **Root Admin**: another user's key reaches only that
user's servers.
"""

from __future__ import annotations

from builtin_plugins.panel_kit.api import (
    ConnectionReport,
    RetryPolicy,
    Timeouts,
    errors,
    url_problem,
)
from builtin_plugins.pelican.panel import PelicanSettings, make_client

ONE_TRY = RetryPolicy(attempts=1, rate_limit_attempts=1)
SHORT = Timeouts(read=10.0, wings=10.0, connect=5.0)
# (path, the key's resource) checked with the application key
APPLICATION_READS = (
    ("/eggs", "egg"),
    ("/nodes", "node"),
    ("/users", "user"),
    ("/servers", "server"),
)
APPLICATION_PREFIXES = ("papp_", "ptla_")
CLIENT_PREFIXES = ("pacc_", "ptlc_")


def _key_shape(key: str, label: str, wanted: tuple[str, ...], other: tuple[str, ...]) -> str | None:
    if not key:
        return f"No {label} is set."
    if key.startswith(other):
        return (
            f"The {label} starts with {key[:5]}, which is the other kind of key; the {label} "
            f"starts with {wanted[0]} ("
            + (
                "Admin > API Keys)."
                if wanted[0] == "papp_"
                else "the Root Admin's Account > API Keys)."
            )
        )
    return None


def _explain(exc: errors.PanelError, url: str, label: str) -> str:
    if isinstance(exc, errors.PanelUnreachable):
        return f"Cannot reach the panel at {url}: {exc}"
    if isinstance(exc, errors.NotAPanel):
        return (
            f"{url} answered HTTP {exc.status}, but not as a Pelican panel API: check the "
            "address (the panel's own URL, without /api)."
        )
    if isinstance(exc, errors.AuthenticationFailed):
        return (
            f"The panel refused the {label} (401 Unauthenticated): check that it was copied "
            "whole, has not expired and has not been deleted."
        )
    if isinstance(exc, errors.WrongKeyType):
        return f"The {label} is an application key; the client API needs a pacc_ key."
    if isinstance(exc, errors.NotRootAdmin):
        return f"The {label} belongs to a user with no admin role (403): {exc.detail}"
    if isinstance(exc, errors.PermissionDenied):
        return f"The panel refused the {label} (403 {exc.detail})"
    if isinstance(exc, errors.NotFound):
        return (
            f"{url} has no Pelican API at this path (404): check the address; a Pterodactyl "
            "panel is served by the pterodactyl plugin."
        )
    return f"The panel answered an unexpected error: {exc}"


def check_connection(settings: PelicanSettings) -> ConnectionReport:
    """Check the URL, the application key (and its read permissions) and the client key."""
    report = ConnectionReport()
    problem = url_problem(settings.url)
    if not report.add("url", problem is None, problem or f"Panel URL {settings.url}"):
        return report
    reachable = _check_application(report, settings)
    _check_client(report, settings, reachable=reachable)
    return report


def _check_application(report: ConnectionReport, settings: PelicanSettings) -> bool:
    """Fills the application key's check; False when the panel could not be reached."""
    label = "application key"
    problem = _key_shape(settings.application_key, label, APPLICATION_PREFIXES, CLIENT_PREFIXES)
    if problem:
        report.add("application_key", False, problem)
        return True
    missing = []
    with make_client(settings, retry=ONE_TRY, timeouts=SHORT) as client:
        for path, resource in APPLICATION_READS:
            try:
                client.app.t.request("GET", path, params={"per_page": 1})
            except errors.NotRootAdmin as exc:
                report.add("application_key", False, _explain(exc, settings.url, label))
                return True
            except errors.PermissionDenied:
                missing.append(resource)
            except errors.PanelError as exc:
                report.add("application_key", False, _explain(exc, settings.url, label))
                return not isinstance(exc, errors.PanelUnreachable | errors.NotAPanel)
    if missing:
        report.add(
            "application_key",
            False,
            f"The application key lacks read permission on {', '.join(missing)}: give it "
            "read & write on server, node, allocation, user and egg (Admin > API Keys).",
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


def _check_client(report: ConnectionReport, settings: PelicanSettings, *, reachable: bool) -> None:
    label = "client key"
    problem = _key_shape(settings.client_key, label, CLIENT_PREFIXES, APPLICATION_PREFIXES)
    if problem:
        report.add("client_key", False, problem)
        return
    if not reachable:
        return
    with make_client(settings, retry=ONE_TRY, timeouts=SHORT) as client:
        try:
            account = client.client.t.item("GET", "/account")
        except errors.PanelError as exc:
            report.add("client_key", False, _explain(exc, settings.url, label))
            return
    name = account.get("username") or account.get("email") or "?"
    if not account.get("root_admin"):
        report.add(
            "client_key",
            False,
            f"The client key belongs to {name}, who is not a Root Admin: it can only reach "
            "that user's servers. Create the key on a Root Admin account.",
        )
        return
    report.add("client_key", True, f"Client key of Root Admin {name} accepted.")
