"""``pteroca simulator ...``: run a simulator in the foreground (demos, manual testing).

The kernel's CLI adds this group lazily (nothing here is imported until the group is used), so
no plugin needs to import the simulators: ``pteroca pterodactyl simulator`` is an alias that the
pterodactyl plugin resolves through the root command.
"""

from __future__ import annotations

import click

from simulators.pelican.cli import simulator_command as pelican_command
from simulators.pterodactyl.cli import simulator_command


@click.group("simulator")
def simulator_group():
    """Simulated outside services (a Pterodactyl or Pelican panel) for demos and tests."""


simulator_group.add_command(simulator_command, name="pterodactyl")
simulator_group.add_command(pelican_command, name="pelican")
