"""A Pelican panel simulator: the Pterodactyl simulator playing Pelican where Pelican differs.

    from simulators.pelican import PelicanSimulator

    with PelicanSimulator(install_seconds=0) as sim:
        ...  # sim.url, sim.application_key (papp_), sim.client_key (pacc_),
             # sim.set_switches(wings_down=True) or (wings_error=True)

It follows docs/reference/pelican_api.md; ``app.py`` lists what differs from
:mod:`simulators.pterodactyl`, whose server, state, validation and most handlers it shares.
"""

from simulators.pelican.app import RESOURCE_LIMITS, SWITCH_DEFAULTS, PelicanSimulator

__all__ = ["RESOURCE_LIMITS", "SWITCH_DEFAULTS", "PelicanSimulator"]
