"""The Pelican plugin's settings and the panel clients built from them.

Every caller that talks to the panel (the provisioner, user sync, reconciliation, the CLI,
cron tasks) gets its client here, so one place decides timeouts, retries and which key a
call needs. The settings are the Pterodactyl plugin's with Pelican's differences
(docs/pelican.md): node tags instead of a default location, ``papp_``/``pacc_`` keys.
"""

from __future__ import annotations

import hashlib
import re
import time
from dataclasses import dataclass
from typing import Any

from builtin_plugins.panel_kit.api import (
    Budget,
    ClientPool,
    RetryPolicy,
    SiteStore,
    client_options,
    common_settings,
    errors,
    max_rate,
    panel_limit,
)
from builtin_plugins.pelican.client import PelicanClient
from builtin_plugins.pelican.models import RequestBudget
from kernel import settings_for

PLUGIN = "pelican"
TAG = re.compile(r"^[\w.:-]{1,64}$")
# Extra keyword arguments for every client built here (tests inject ``sleep`` and the
# budget's ``clock``).
CLIENT_OPTIONS: dict[str, Any] = {}
POOL = ClientPool()
# Pelican's own limits per minute and user on each API (docs/reference/pelican_api.md §1.3:
# 256 by default, APP_API_APPLICATION_RATELIMIT / APP_API_CLIENT_RATELIMIT). The settings say
# what this panel allows; the budget is ``max_rate`` of it (213 of 256), so that rate + burst
# stays within it.
PANEL_LIMITS = {"application": 256, "client": 256}
BUDGET_STORE = SiteStore(RequestBudget.__table__)


@dataclass(frozen=True)
class PelicanSettings:
    url: str
    application_key: str
    client_key: str
    default_tags: tuple[str, ...] = ()
    node_policy: str = "least_loaded"
    node_ids: tuple[int, ...] = ()
    external_id_prefix: str = "pteroca"
    sync_users: bool = True
    request_timeout: int = 30
    wings_timeout: int = 90
    # What Pelican allows per minute (its APP_API_*_RATELIMIT); the budget is five sixths.
    application_requests_per_minute: int = PANEL_LIMITS["application"]
    client_requests_per_minute: int = PANEL_LIMITS["client"]

    @property
    def configured(self) -> bool:
        return bool(self.url and self.application_key)


def parse_tags(text: Any, label: str = "Tags") -> tuple[str, ...]:
    """``"eu, minecraft"`` -> ``("eu", "minecraft")``; ValueError for a tag Pelican would not
    carry (spaces, punctuation, over 64 characters)."""
    out = []
    for part in str(text or "").replace(";", ",").split(","):
        part = part.strip()
        if not part:
            continue
        if not TAG.match(part):
            raise ValueError(f"{label}: {part!r} is not a node tag (letters, digits, . _ : - only)")
        out.append(part)
    return tuple(dict.fromkeys(out))


def load_settings() -> PelicanSettings:
    """The plugin's effective settings (environment over stored values over defaults)."""
    values = settings_for(PLUGIN)
    try:
        tags = parse_tags(values.get("default_tags"), "Default node tags")
    except ValueError:
        tags = ()
    return PelicanSettings(
        **common_settings(values),
        default_tags=tags,
        application_requests_per_minute=_rate(values, "application"),
        client_requests_per_minute=_rate(values, "client"),
    )


def _rate(values: dict[str, Any], api: str) -> int:
    """The panel's limit for ``api`` as stored, within the kit's bounds."""
    return panel_limit(values.get(f"{api}_requests_per_minute"), PANEL_LIMITS[api])


def budgets(settings: PelicanSettings, **options: Any) -> dict[str, Budget]:
    """The request budgets of the panel in ``settings``, one per API, shared by every process
    (their buckets are named by the panel's URL and the API, apart from the Pterodactyl
    plugin's: two panels, two allowances). ``options``: ``clock`` and ``sleep``."""
    digest = hashlib.sha256(settings.url.encode()).hexdigest()[:32]
    return {
        api: Budget(
            BUDGET_STORE,
            f"pelican:{api}:{digest}",
            max_rate(getattr(settings, f"{api}_requests_per_minute")),
            **options,
        )
        for api in PANEL_LIMITS
    }


def make_client(
    settings: PelicanSettings,
    *,
    quick: bool = False,
    background: bool | None = None,
    **options: Any,
) -> PelicanClient:
    """The shared client for ``settings``. ``quick``: one try and short timeouts (pages,
    status). ``background``: its calls wait for what pages leave of the request budget
    (default: a quick client is a page's, interactive; any other is background). Every call
    takes a token of the panel's request budget first. The same settings and options give
    the same pooled client in this process."""
    if not settings.url:
        raise errors.NotConfigured("no panel URL is set (Admin > Plugins > Pelican settings)")
    kwargs = client_options(
        settings.request_timeout,
        settings.wings_timeout,
        quick=quick,
        defaults=CLIENT_OPTIONS,
        options=options,
    )
    kwargs["interactive"] = not background if background is not None else quick
    clock = kwargs.pop("clock", time.time)
    sleep = kwargs.get("sleep", time.sleep)
    return POOL.get(
        PelicanClient,
        settings.url,
        settings.application_key,
        settings.client_key,
        kwargs,
        budgets=lambda: budgets(settings, clock=clock, sleep=sleep),
        budget_key=(
            settings.application_requests_per_minute,
            settings.client_requests_per_minute,
            clock,
        ),
    )


def forget_clients() -> None:
    """Close every shared client's pool (settings changed, tests)."""
    POOL.forget()


def connect(
    *, quick: bool = False, need_client_key: bool = False, retry: RetryPolicy | None = None
) -> PelicanClient:
    """A client from the stored settings; NotConfigured when the URL or a key is missing."""
    settings = load_settings()
    if not settings.configured:
        raise errors.NotConfigured(
            "the Pelican panel URL and application key are not set "
            "(Admin > Plugins > Pelican settings)"
        )
    if need_client_key and not settings.client_key:
        raise errors.NotConfigured(
            "no client API key of the Root Admin is set, so live status and power are unavailable"
        )
    return make_client(settings, quick=quick, **({"retry": retry} if retry else {}))


def external_id(service) -> str:
    """The panel ``external_id`` of a store service's server: the idempotency key."""
    return f"{load_settings().external_id_prefix}-{service.id}"


def user_external_id(user) -> str:
    return f"{load_settings().external_id_prefix}-user-{user.id}"
