"""The connection test both panel plugins run: which of URL, keys and permissions is wrong, in
words to act on.

The steps are the same for Pterodactyl and Pelican: the URL's shape; the application key's
prefix, then one ``GET <path>?per_page=1`` for each resource the plugin uses (a 403 on one is a
permission the key lacks); the client key's prefix, then ``/account``, whose owner must be a
root admin (another user's key reaches only that user's servers). What differs is data: the
key prefixes, the resources, where the admin creates a key, the words of the panel's own
screens and the account's admin flag. A plugin subclasses :class:`ConnectionTest` and sets
them; :meth:`ConnectionTest.run` does the rest.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from builtin_plugins.panel_kit import errors
from builtin_plugins.panel_kit.checks import ConnectionReport, url_problem
from builtin_plugins.panel_kit.transport import RetryPolicy, Timeouts

# A test answers at once: one try, short timeouts.
ONE_TRY = RetryPolicy(attempts=1, rate_limit_attempts=1)
SHORT = Timeouts(read=10.0, wings=10.0, connect=5.0)


class ConnectionTest:
    """One panel's connection test; a plugin sets the class attributes and :meth:`other_kind`.

    ``make_client(settings, retry=..., timeouts=...)`` is the plugin's client factory (a context
    manager with ``.app`` and ``.client`` APIs)."""

    panel: ClassVar[str]  # "Pterodactyl": what a wrong URL is not
    application_reads: ClassVar[tuple[tuple[str, str], ...]]  # (path, resource named)
    application_prefixes: ClassVar[tuple[str, ...]]  # the first one is what to create
    client_prefixes: ClassVar[tuple[str, ...]]
    grant: ClassVar[str]  # what to give an application key that lacks a read
    not_found_hint: ClassVar[str]  # after "... has no <panel> API at this path (404): "
    key_kept: ClassVar[str]  # after "check that it was copied "
    client_key_name: ClassVar[str]  # what the client API needs instead of an application key
    non_admin: ClassVar[str]  # "a user who is not a root admin"
    root_admin: ClassVar[str]  # the panel's words for a root admin
    root_admin_account: ClassVar[str]  # where to create a client key
    admin_flag: ClassVar[str]  # the /account attribute that marks a root admin
    # 403s on a read that are not a missing permission but a wrong key (said as such)
    wrong_key: ClassVar[tuple[type[errors.PanelError], ...]] = (errors.NotRootAdmin,)
    explains_two_factor: ClassVar[bool] = False

    def __init__(self, settings: Any, make_client: Callable[..., Any]) -> None:
        self.settings = settings
        self.make_client = make_client

    # --- what differs ------------------------------------------------------------------------

    def other_kind(self, key: str, label: str, *, application: bool) -> str:
        """What to say of a key of the other kind in the ``label`` setting."""
        raise NotImplementedError

    def permission_denied(self, exc: errors.PermissionDenied, label: str) -> str:
        return f"The panel refused the {label} (403 {exc.detail})"

    def account(self, client: Any) -> dict:
        """The client key owner's account (``GET /account``)."""
        return client.client.t.item("GET", "/account")

    # --- the test ----------------------------------------------------------------------------

    def run(self) -> ConnectionReport:
        """Check the URL, the application key (and its read permissions) and the client key."""
        report = ConnectionReport()
        problem = url_problem(self.settings.url)
        if not report.add("url", problem is None, problem or f"Panel URL {self.settings.url}"):
            return report
        reachable = self._check_application(report)
        self._check_client(report, reachable=reachable)
        return report

    def key_problem(self, key: str, label: str, *, application: bool) -> str | None:
        if not key:
            return f"No {label} is set."
        other = self.client_prefixes if application else self.application_prefixes
        if key.startswith(other):
            return self.other_kind(key, label, application=application)
        return None

    def explain(self, exc: errors.PanelError, label: str) -> str:
        """A panel error met while trying the ``label`` key, as what to do about it."""
        url = self.settings.url
        if isinstance(exc, errors.PanelUnreachable):
            return f"Cannot reach the panel at {url}: {exc}"
        if isinstance(exc, errors.NotAPanel):
            return (
                f"{url} answered HTTP {exc.status}, but not as a {self.panel} panel API: check "
                "the address (the panel's own URL, without /api)."
            )
        if isinstance(exc, errors.AuthenticationFailed):
            return (
                f"The panel refused the {label} (401 Unauthenticated): check that it was copied "
                f"{self.key_kept}."
            )
        if isinstance(exc, errors.WrongKeyType):
            return (
                f"The {label} is an application key; the client API needs {self.client_key_name}."
            )
        if isinstance(exc, errors.NotRootAdmin):
            return f"The {label} belongs to {self.non_admin} (403): {exc.detail}"
        if self.explains_two_factor and isinstance(exc, errors.TwoFactorRequired):
            return (
                f"The panel requires two-factor authentication for the owner of the {label}: "
                f"{exc.detail}"
            )
        if isinstance(exc, errors.PermissionDenied):
            return self.permission_denied(exc, label)
        if isinstance(exc, errors.NotFound):
            return f"{url} has no {self.panel} API at this path (404): {self.not_found_hint}"
        return f"The panel answered an unexpected error: {exc}"

    def _check_application(self, report: ConnectionReport) -> bool:
        """Fills the application key's check; False when the panel could not be reached."""
        label = "application key"
        problem = self.key_problem(self.settings.application_key, label, application=True)
        if problem:
            report.add("application_key", False, problem)
            return True
        missing = []
        with self.make_client(self.settings, retry=ONE_TRY, timeouts=SHORT) as client:
            for path, resource in self.application_reads:
                try:
                    client.app.t.request("GET", path, params={"per_page": 1})
                except errors.PermissionDenied as exc:
                    if isinstance(exc, self.wrong_key):
                        report.add("application_key", False, self.explain(exc, label))
                        return True
                    missing.append(resource)
                except errors.PanelError as exc:
                    report.add("application_key", False, self.explain(exc, label))
                    return not isinstance(exc, errors.PanelUnreachable | errors.NotAPanel)
        if missing:
            report.add(
                "application_key",
                False,
                f"The application key lacks read permission on {', '.join(missing)}: give it "
                f"{self.grant}.",
            )
        else:
            report.add(
                "application_key",
                True,
                "Application key accepted; it can read "
                + ", ".join(r for _, r in self.application_reads)
                + ".",
            )
        return True

    def _check_client(self, report: ConnectionReport, *, reachable: bool) -> None:
        label = "client key"
        problem = self.key_problem(self.settings.client_key, label, application=False)
        if problem:
            report.add("client_key", False, problem)
            return
        if not reachable:
            return
        with self.make_client(self.settings, retry=ONE_TRY, timeouts=SHORT) as client:
            try:
                account = self.account(client)
            except errors.PanelError as exc:
                report.add("client_key", False, self.explain(exc, label))
                return
        name = account.get("username") or account.get("email") or "?"
        if not account.get(self.admin_flag):
            report.add(
                "client_key",
                False,
                f"The client key belongs to {name}, who is not a {self.root_admin}: it can only "
                f"reach that user's servers. Create the key on {self.root_admin_account}.",
            )
            return
        report.add("client_key", True, f"Client key of {self.root_admin} {name} accepted.")
