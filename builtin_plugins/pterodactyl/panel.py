"""The plugin's settings and the panel clients built from them.

Every caller that talks to the panel (the provisioner, user sync, reconciliation, the
CLI, cron tasks, admin views, the server tabs) gets its client here, so one place decides
timeouts, retries and which key a call needs.
"""

from __future__ import annotations

import hashlib
import threading
import time
from dataclasses import dataclass
from typing import Any

from builtin_plugins.panel_kit.api import (
    Budget,
    RetryPolicy,
    SiteStore,
    Timeouts,
    common_settings,
    errors,
    max_rate,
    panel_limit,
)
from builtin_plugins.pterodactyl.client import PanelClient
from builtin_plugins.pterodactyl.models import RequestBudget
from kernel import settings_for

PLUGIN = "pterodactyl"
# Extra keyword arguments for every PanelClient built here (tests inject ``sleep`` or a
# shorter RetryPolicy; nothing else should need them).
CLIENT_OPTIONS: dict[str, Any] = {}
QUICK_RETRY = RetryPolicy(attempts=1, rate_limit_attempts=1)
# The panel's own limits per minute and user by default (docs/reference/pterodactyl_api.md
# §1.3). The settings say what this panel allows; the budget is ``max_rate`` of it, so that
# rate + burst stays within it.
PANEL_LIMITS = {"application": 240, "client": 720}
BUDGET_STORE = SiteStore(RequestBudget.__table__)

# One pooled client per process, panel, keys and call options: a page that shows fifty
# servers, or a reconcile run, reuses its connections instead of opening (and handshaking)
# a pool per server. httpx.Client is thread-safe; a shared client ignores close().
_clients: dict[tuple, PanelClient] = {}
_clients_lock = threading.Lock()


@dataclass(frozen=True)
class PanelSettings:
    url: str
    application_key: str
    client_key: str
    default_location: str = ""
    node_policy: str = "least_loaded"
    node_ids: tuple[int, ...] = ()
    external_id_prefix: str = "pteroca"
    sync_users: bool = True
    request_timeout: int = 30
    wings_timeout: int = 90
    # What the panel allows per minute (its APP_API_*_RATELIMIT); the budget is five sixths.
    application_requests_per_minute: int = PANEL_LIMITS["application"]
    client_requests_per_minute: int = PANEL_LIMITS["client"]

    @property
    def configured(self) -> bool:
        return bool(self.url and self.application_key)


def load_settings() -> PanelSettings:
    """The plugin's effective settings (environment over stored values over defaults)."""
    values = settings_for(PLUGIN)
    return PanelSettings(
        **common_settings(values),
        default_location=(values.get("default_location") or "").strip(),
        application_requests_per_minute=_rate(values, "application"),
        client_requests_per_minute=_rate(values, "client"),
    )


def _rate(values: dict[str, Any], api: str) -> int:
    """The panel's limit for ``api`` as stored, within the kit's bounds."""
    return panel_limit(values.get(f"{api}_requests_per_minute"), PANEL_LIMITS[api])


def budgets(settings: PanelSettings, **options: Any) -> dict[str, Budget]:
    """The request budgets of the panel in ``settings``, one per API, shared by every process
    (their buckets are named by the panel's URL and the API). ``options``: ``clock`` and
    ``sleep`` (tests and the bench run them on a virtual clock)."""
    digest = hashlib.sha256(settings.url.encode()).hexdigest()[:32]
    return {
        api: Budget(
            BUDGET_STORE,
            f"pterodactyl:{api}:{digest}",
            max_rate(getattr(settings, f"{api}_requests_per_minute")),
            **options,
        )
        for api in PANEL_LIMITS
    }


def make_client(
    settings: PanelSettings, *, quick: bool = False, background: bool | None = None, **options: Any
) -> PanelClient:
    """The shared client for ``settings``. ``quick``: one try and short timeouts (pages,
    status). ``background``: its calls wait for what pages leave of the request budget
    (default: a quick client is a page's, interactive; any other is background). The same
    settings and options give the same pooled client in this process."""
    if not settings.url:
        raise errors.NotConfigured("no panel URL is set (Admin > Plugins > Pterodactyl settings)")
    kwargs: dict[str, Any] = {
        "timeouts": Timeouts(
            read=min(settings.request_timeout, 10) if quick else settings.request_timeout,
            wings=min(settings.wings_timeout, 20) if quick else settings.wings_timeout,
        ),
    }
    extra = dict(CLIENT_OPTIONS)
    if quick:
        kwargs["retry"] = QUICK_RETRY
        extra.pop("retry", None)
    kwargs.update(extra)
    kwargs.update(options)
    kwargs["interactive"] = not background if background is not None else quick
    clock = kwargs.pop("clock", time.time)
    key = (
        settings.url,
        settings.application_key,
        settings.client_key,
        settings.application_requests_per_minute,
        settings.client_requests_per_minute,
        _identity(clock),
        tuple(sorted((name, _identity(value)) for name, value in kwargs.items())),
    )
    with _clients_lock:
        client = _clients.get(key)
        if client is None:
            sleep = kwargs.get("sleep", time.sleep)
            client = PanelClient(
                settings.url,
                settings.application_key,
                settings.client_key,
                shared=True,
                budgets=budgets(settings, clock=clock, sleep=sleep),
                **kwargs,
            )
            _clients[key] = client
    return client


def _identity(value: Any) -> Any:
    """A hashable stand-in for a client option (timeouts and retry policies are frozen
    dataclasses; a test's ``sleep`` or transport is itself)."""
    try:
        hash(value)
    except TypeError:
        return id(value)
    return value


def forget_clients() -> None:
    """Close every shared client's pool (settings changed, tests)."""
    with _clients_lock:
        found = list(_clients.values())
        _clients.clear()
    for client in found:
        client.close_pool()


def connect(
    *, quick: bool = False, need_client_key: bool = False, retry: RetryPolicy | None = None
) -> PanelClient:
    """A client from the stored settings; NotConfigured when the URL or a key is missing.
    ``retry`` replaces the retry policy (the reconciler retries with its own backoff)."""
    settings = load_settings()
    if not settings.configured:
        raise errors.NotConfigured(
            "the panel URL and application key are not set (Admin > Plugins > Pterodactyl settings)"
        )
    if need_client_key and not settings.client_key:
        raise errors.NotConfigured(
            "no client API key of a root admin is set, so live status "
            "and server actions are unavailable"
        )
    return make_client(settings, quick=quick, **({"retry": retry} if retry else {}))


def external_id(service) -> str:
    """The panel ``external_id`` of a store service's server: the idempotency key."""
    return f"{load_settings().external_id_prefix}-{service.id}"
