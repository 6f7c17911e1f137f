"""Every route the simulator answers, in matching order."""

from __future__ import annotations

from builtin_plugins.pterodactyl.simulator import application_api, client_api, control, wings
from builtin_plugins.pterodactyl.simulator.routing import Router


def register(router: Router) -> None:
    application_api.register(router)
    client_api.register(router)
    wings.register(router)
    control.register(router)
