"""Every route the simulator answers, in matching order."""

from __future__ import annotations

from simulators.pterodactyl import application_api, client_api, control, wings
from simulators.pterodactyl.routing import Router


def register(router: Router) -> None:
    application_api.register(router)
    client_api.register(router)
    wings.register(router)
    control.register(router)
