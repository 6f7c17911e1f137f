"""``pteroca simulator pterodactyl`` (and ``pelican``): run a panel simulator in the
foreground until Ctrl-C.

:mod:`simulators.cli` adds :data:`simulator_command` (and the Pelican one made by
:func:`make_simulator_command`) to the ``simulator`` group; :func:`run_forever` is the same
thing for Python callers (``pteroca demo``).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

import click

from simulators.pterodactyl.app import Simulator

DEFAULT_PORT = 8099


def describe(sim: Simulator) -> dict[str, str]:
    return {"url": sim.url, "application_key": sim.application_key, "client_key": sim.client_key}


def run_forever(
    host: str = "127.0.0.1",
    port: int = DEFAULT_PORT,
    *,
    echo: Callable[[str], Any] = print,
    as_json: bool = False,
    ready: threading.Event | None = None,
    stop: threading.Event | None = None,
    simulator_class: type[Simulator] = Simulator,
    label: str = "Pterodactyl",
    **options: Any,
) -> None:
    """Start a ``simulator_class``, print its URL and keys, serve until Ctrl-C (or ``stop``).

    ``options`` go to the constructor (``seed``, ``install_seconds``, ``power_seconds``,
    ``backup_seconds``, ``application_key``, ``client_key``, ``public_host``).
    """
    sim = simulator_class(host, port, **options).start()
    info = describe(sim)
    if as_json:
        echo(json.dumps(info))
    else:
        echo(f"{label} simulator listening on {info['url']}")
        echo(f"  panel URL        {info['url']}")
        echo(f"  application key  {info['application_key']}")
        echo(f"  client key       {info['client_key']}  (root admin)")
        echo(f"  control          {info['url']}/_simulator/state")
        echo("Press Ctrl-C to stop.")
    if ready is not None:
        ready.set()
    waiter = stop or threading.Event()
    try:
        while not waiter.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        sim.stop()


def make_simulator_command(
    simulator_class: type[Simulator],
    label: str,
    prefixes: tuple[str, str],
    default_port: int = DEFAULT_PORT,
    seed_help: str = "Start without locations, nodes, nests and eggs.",
) -> click.Command:
    """The ``simulator`` command for one panel: ``prefixes`` are its (application, client)
    key prefixes, checked on ``--application-key`` and ``--client-key``."""
    app_prefix, client_prefix = prefixes

    @click.command("simulator")
    @click.option(
        "--host",
        default="127.0.0.1",
        show_default=True,
        help="Address to bind (0.0.0.0 exposes it to the network).",
    )
    @click.option(
        "--port",
        default=default_port,
        show_default=True,
        type=click.IntRange(0, 65535),
        help="Port to listen on (0 picks a free one).",
    )
    @click.option(
        "--install-seconds",
        default=1.0,
        show_default=True,
        type=click.FloatRange(min=0),
        help="How long a new server stays installing.",
    )
    @click.option(
        "--power-seconds",
        default=1.0,
        show_default=True,
        type=click.FloatRange(min=0),
        help="How long starting and stopping take.",
    )
    @click.option(
        "--application-key",
        default=None,
        help=f"Use this {app_prefix} key (48 characters) instead of a random one.",
    )
    @click.option(
        "--client-key",
        default=None,
        help=f"Use this {client_prefix} key (48 characters) instead of a random one.",
    )
    @click.option(
        "--public-host",
        default=None,
        help="Host name put in links and websocket URLs (default: the bind address).",
    )
    @click.option("--no-seed", is_flag=True, help=seed_help)
    @click.option("--json", "as_json", is_flag=True, help="Print the URL and keys as JSON.")
    def command(
        host: str,
        port: int,
        install_seconds: float,
        power_seconds: float,
        application_key: str | None,
        client_key: str | None,
        public_host: str | None,
        no_seed: bool,
        as_json: bool,
    ) -> None:
        for name, key, prefix in (
            ("--application-key", application_key, app_prefix),
            ("--client-key", client_key, client_prefix),
        ):
            if key is not None and (len(key) != 48 or not key.startswith(prefix)):
                raise click.BadParameter(
                    f"must be 48 characters starting with {prefix}", param_hint=name
                )
        try:
            run_forever(
                host,
                port,
                echo=click.echo,
                as_json=as_json,
                seed=not no_seed,
                install_seconds=install_seconds,
                power_seconds=power_seconds,
                application_key=application_key,
                client_key=client_key,
                public_host=public_host,
                simulator_class=simulator_class,
                label=label,
            )
        except OSError as exc:
            raise click.ClickException(
                f"cannot listen on {host}:{port}: {exc.strerror or exc}"
            ) from None

    command.help = f"Run a simulated {label} panel (for demos and tests) until Ctrl-C."
    return command


simulator_command = make_simulator_command(Simulator, "Pterodactyl", ("ptla_", "ptlc_"))
