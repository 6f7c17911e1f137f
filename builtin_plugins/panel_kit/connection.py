"""A panel connection: both APIs of one Pterodactyl-family panel over one connection pool,
and the process-wide pool of such connections keyed by settings.

Each panel plugin subclasses :class:`PanelConnection` naming its application-API and
client-API classes (Pterodactyl's and Pelican's differ: nests, tags, user fields...); what
is the same (the HTTP pool, TLS, the transports, pauses, closing) lives here once.
"""

from __future__ import annotations

import functools
import ssl
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import httpx

from builtin_plugins.panel_kit.budget import Budget
from builtin_plugins.panel_kit.transport import RetryPolicy, Timeouts, Transport

APPLICATION = "/api/application"
CLIENT = "/api/client"


@functools.cache
def tls_context() -> ssl.SSLContext:
    """The system's certificate authorities, loaded once per process (loading them is most
    of a client's start-up: the reconciler builds one per server it converges)."""
    return ssl.create_default_context()


def segment(value: Any) -> str:
    """A path segment: external ids may hold characters that must not change the path."""
    return quote(str(value), safe="")


class PanelConnection:
    """Both APIs of one panel over one connection pool. Close it (or use ``with``).

    Subclasses set ``application_api`` and ``client_api`` (classes taking a Transport) and
    ``user_agent``."""

    application_api: Callable[[Transport], Any]
    client_api: Callable[[Transport], Any]
    user_agent = "pteroca-panel-kit/1.0"

    def __init__(
        self,
        url: str,
        application_key: str = "",
        client_key: str = "",
        *,
        timeouts: Timeouts | None = None,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        transport: httpx.BaseTransport | None = None,
        shared: bool = False,
        budgets: dict[str, Budget] | None = None,
        interactive: bool | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        # A shared client (one per process and panel: ClientPool) outlives every ``with``.
        self.shared = shared
        self.timeouts = timeouts or Timeouts()
        self.retry = retry or RetryPolicy()
        self._sleep = sleep
        self._http = httpx.Client(
            base_url=self.url,
            transport=transport,
            follow_redirects=False,
            timeout=self.timeouts.for_call(False),
            verify=tls_context(),
        )
        common = {
            "timeouts": self.timeouts,
            "retry": self.retry,
            "sleep": sleep,
            "user_agent": self.user_agent,
            # interactive: the calls' priority in the budget (None: from the retry policy)
            "interactive": interactive,
        }
        # budgets: {"application": ..., "client": ...}, the panel's request budgets (budget.py)
        budgets = budgets or {}
        self.app = type(self).application_api(
            Transport(
                self._http,
                application_key,
                APPLICATION,
                budget=budgets.get("application"),
                **common,
            )
        )
        self.client = type(self).client_api(
            Transport(self._http, client_key, CLIENT, budget=budgets.get("client"), **common)
        )

    def pause(self, seconds: float) -> None:
        """Wait between attempts of a multi-step operation (the injected ``sleep``)."""
        self._sleep(seconds)

    def close(self) -> None:
        if not self.shared:
            self._http.close()

    def close_pool(self) -> None:
        """Close the connection pool even of a shared client (ClientPool.forget)."""
        self._http.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


class ClientPool:
    """One shared connection per process, panel, keys and call options: a page that shows
    fifty servers, or a reconcile run, reuses its connections instead of opening a pool per
    server."""

    def __init__(self) -> None:
        self._clients: dict[tuple, PanelConnection] = {}
        self._lock = threading.Lock()

    def get(
        self,
        factory: Callable[..., PanelConnection],
        url: str,
        application_key: str,
        client_key: str,
        options: dict[str, Any],
        *,
        budgets: Callable[[], dict[str, Budget]] | None = None,
        budget_key: tuple = (),
    ) -> PanelConnection:
        """The pooled connection for these keys and ``options``. ``budgets`` builds the
        request budgets of a new connection (called only when one is made: a Budget is not
        hashable); ``budget_key`` is what tells two budgets apart (their rates, the clock)."""
        key = (
            url,
            application_key,
            client_key,
            tuple(sorted((name, _hashable(value)) for name, value in options.items())),
            tuple(_hashable(value) for value in budget_key),
        )
        with self._lock:
            client = self._clients.get(key)
            if client is None:
                extra = {"budgets": budgets()} if budgets is not None else {}
                client = factory(url, application_key, client_key, shared=True, **options, **extra)
                self._clients[key] = client
        return client

    def forget(self) -> None:
        """Close every shared client's pool (settings changed, tests)."""
        with self._lock:
            found = list(self._clients.values())
            self._clients.clear()
        for client in found:
            client.close_pool()


def _hashable(value: Any) -> Any:
    """A hashable stand-in for a client option (timeouts and retry policies are frozen
    dataclasses; a test's ``sleep`` or transport is itself)."""
    try:
        hash(value)
    except TypeError:
        return id(value)
    return value


def client_options(
    request_timeout: int,
    wings_timeout: int,
    *,
    quick: bool,
    defaults: dict[str, Any],
    options: dict[str, Any],
) -> dict[str, Any]:
    """The keyword arguments of a connection: the settings' timeouts (short ones and a single
    try when ``quick``: pages, status), then ``defaults`` (tests inject ``sleep``), then the
    caller's ``options``."""
    kwargs: dict[str, Any] = {
        "timeouts": Timeouts(
            read=min(request_timeout, 10) if quick else request_timeout,
            wings=min(wings_timeout, 20) if quick else wings_timeout,
        ),
    }
    extra = dict(defaults)
    if quick:
        kwargs["retry"] = RetryPolicy(attempts=1, rate_limit_attempts=1)
        extra.pop("retry", None)
    kwargs.update(extra)
    kwargs.update(options)
    return kwargs
