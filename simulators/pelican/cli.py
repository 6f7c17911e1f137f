"""``pteroca simulator pelican``: the Pelican simulator in the foreground until Ctrl-C.

The same command as ``pteroca simulator pterodactyl`` (one builder makes both); it listens
on 8098 by default so that both panels can run side by side.
"""

from __future__ import annotations

from simulators.pelican.app import PelicanSimulator
from simulators.pterodactyl.cli import make_simulator_command

DEFAULT_PORT = 8098

simulator_command = make_simulator_command(
    PelicanSimulator,
    "Pelican",
    ("papp_", "pacc_"),
    default_port=DEFAULT_PORT,
    seed_help="Start without nodes, allocations and eggs.",
)
