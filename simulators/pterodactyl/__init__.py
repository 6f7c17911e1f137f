"""A Pterodactyl panel simulator (application + client API, and Wings' console websocket).

    from simulators.pterodactyl import Simulator

    with Simulator(install_seconds=0) as sim:
        ...  # sim.url, sim.application_key, sim.client_key, sim.set_switches(wings_down=True)

See ``docs/pterodactyl.md`` ("Simulator") and ``app.py`` for the switches.
"""

from simulators.pterodactyl.app import SWITCH_DEFAULTS, Simulator

__all__ = ["SWITCH_DEFAULTS", "Simulator"]
