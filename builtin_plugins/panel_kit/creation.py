"""Creating a panel server safely to retry, on either panel (reference §7.4 "Idempotency").

The server carries our ``external_id``; after any create whose outcome is unknown (timeout,
lost connection, 5xx, a Wings fault) and after a refusal saying the id is taken, the server
is looked up by it: found, it is adopted; not found, the create is sent again (after a
pause). An allocation another create took meanwhile is skipped and a new placement chosen.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from builtin_plugins.panel_kit import errors

ATTEMPTS = 3
UNKNOWN_OUTCOME = (
    errors.PanelUnreachable,
    errors.DaemonError,
    errors.ServerError,
    errors.NotAPanel,
)


@dataclass(frozen=True)
class Created:
    server: dict[str, Any]
    adopted: bool  # found by its external id, not made by this call


class CreateFailed(Exception):
    """Every attempt failed; ``last`` is the last failure, ``lost`` the allocations other
    creates took meanwhile."""

    def __init__(self, last: Exception | None, lost: set[int]) -> None:
        self.last, self.lost = last, lost
        super().__init__(errors.describe(last) if last else "no answer")


def create_server(
    client: Any,
    body: dict[str, Any],
    *,
    external_id: str,
    place: Callable[[set[int]], Any],
    attempts: int = ATTEMPTS,
) -> Created:
    """Create (or find) the server of ``body``. ``place(lost)`` returns a placement (with
    ``body()`` and ``allocation_id``) avoiding the allocation ids in ``lost``; its own
    exception (no room) goes to the caller, as do refusals that are not races."""
    lost: set[int] = set()
    last: Exception | None = None
    for attempt in range(1, attempts + 1):
        spot = place(lost)
        try:
            return Created(client.app.create_server({**body, **spot.body()}), adopted=False)
        except errors.ValidationFailed as exc:
            if exc.has("external_id", "unique"):
                found = client.app.get_server_by_external_id(external_id)
                if found is not None:
                    return Created(found, adopted=True)
            if spot.allocation_id is not None and exc.has("allocation.default"):
                lost.add(spot.allocation_id)  # taken meanwhile: choose again
                last = exc
                continue
            raise
        except UNKNOWN_OUTCOME as exc:
            found = client.app.get_server_by_external_id(external_id)
            if found is not None:
                return Created(found, adopted=True)
            last = exc
            if spot.allocation_id is not None and isinstance(exc, errors.ServerError):
                lost.add(spot.allocation_id)  # a 500 is how a lost allocation race ends
            if attempt < attempts:
                client.pause(client.retry.backoff * attempt)
    raise CreateFailed(last, lost)


def egg_for(config: Any, options: dict | None) -> int:
    """The egg a new server gets: the customer's checkout choice among the product's eggs,
    else the product's egg."""
    from builtin_plugins.panel_kit.lookups import choice_id

    chosen = choice_id((options or {}).get("egg"))
    return chosen if chosen in config.egg_ids else config.egg_id


def server_body(
    config: Any,
    service: Any,
    egg: dict[str, Any],
    egg_id: int,
    options: dict[str, Any],
    *,
    owner_id: int,
    external_id: str,
    name_length: int,
) -> dict[str, Any]:
    """The create body both panels take alike (the plugin adds its OOM field and placement):
    every egg variable with its value (a missing one would be stored ""), the product's image,
    startup and limits. ConfigError when the egg's rules refuse the environment."""
    from builtin_plugins.panel_kit.application import egg_variables
    from builtin_plugins.panel_kit.product_config import ConfigError, docker_image
    from builtin_plugins.panel_kit.variable_settings import (
        environment,
        environment_problems,
        slot_variables,
    )

    variables = egg_variables(egg)
    env = environment(
        config,
        variables,
        options=options,
        slots=service.slots,
        slot_names=slot_variables(config, service.plan),
    )
    problems = environment_problems(env, variables)
    if problems:
        raise ConfigError("the server's settings do not fit the egg: " + " ".join(problems))
    return {
        "name": service.name[:name_length],
        "user": int(owner_id),
        "egg": egg_id,
        "docker_image": docker_image(config, egg),
        "startup": config.startup or egg.get("startup") or "",
        "environment": env,
        "limits": config.limits(),
        "feature_limits": config.feature_limits(),
        "start_on_completion": config.start_on_completion,
        "skip_scripts": config.skip_scripts,
        "external_id": external_id,
        "description": config.description_for(service) or f"pteroca service #{service.id}",
    }
