"""The Pelican plugin's settings and the panel clients built from them.

Every caller that talks to the panel (the provisioner, user sync, reconciliation, the CLI,
cron tasks) gets its client here, so one place decides timeouts, retries and which key a
call needs. The settings are the Pterodactyl plugin's with Pelican's differences
(docs/pelican.md): node tags instead of a default location, ``papp_``/``pacc_`` keys.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from builtin_plugins.panel_kit.api import (
    ClientPool,
    RetryPolicy,
    client_options,
    common_settings,
    errors,
)
from builtin_plugins.pelican.client import PelicanClient
from kernel import settings_for

PLUGIN = "pelican"
TAG = re.compile(r"^[\w.:-]{1,64}$")
# Extra keyword arguments for every client built here (tests inject ``sleep``).
CLIENT_OPTIONS: dict[str, Any] = {}
POOL = ClientPool()


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
    )


def make_client(settings: PelicanSettings, *, quick: bool = False, **options: Any) -> PelicanClient:
    """The shared client for ``settings``. ``quick``: one try and short timeouts (pages,
    status). The same settings and options give the same pooled client in this process."""
    if not settings.url:
        raise errors.NotConfigured("no panel URL is set (Admin > Plugins > Pelican settings)")
    kwargs = client_options(
        settings.request_timeout,
        settings.wings_timeout,
        quick=quick,
        defaults=CLIENT_OPTIONS,
        options=options,
    )
    return POOL.get(
        PelicanClient, settings.url, settings.application_key, settings.client_key, kwargs
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
