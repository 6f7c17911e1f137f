"""Provisioners: what the store calls to create and manage servers, and the manual one it ships.

A provisioner is an object with ``identifier``, ``display_name`` and the methods of
:class:`Provisioner`. Any method may raise :class:`ProvisionError` with a message
for the admin; ``change_package`` raises :class:`PackageRefused` when the target
does not fit.

Optional: ``converge(service) -> Convergence`` makes the panel match the service's desired
state (``service.desired_state``: active, suspended or deleted, with the product's build
limits, the customer as owner and the service's name), repairs what it can and says what it
found, including an installation still running or failed. The store's reconciler calls it
after every lifecycle change and again with backoff until it succeeds (reconciler.py).
Without it the reconciler calls ``suspend``, ``unsuspend`` and ``terminate`` as the desired
state asks and takes the server as installed once ``create`` returned.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from kernel import SettingSpec, collect


class ProvisionError(Exception):
    """The provisioner could not do what was asked; the message is safe to show an admin."""


class PackageRefused(ProvisionError):
    """An upgrade or downgrade that does not fit (the message says why)."""


@dataclass(frozen=True)
class LiveStatus:
    __template_fields__ = (
        "running",
        "settled",
    )  # besides the fields (a frozen dataclass shows them)

    state: str  # running | starting | stopping | offline | installing | suspended | unknown
    detail: str = ""
    address: str = ""  # where players connect ("play.example.com:25565"), when known

    @property
    def settled(self) -> bool:
        """False while the state is on its way somewhere (the Overview keeps asking)."""
        return self.state not in ("installing", "starting", "stopping")

    @property
    def running(self) -> bool:
        return self.state in ("running", "starting")


# What a panel can show for a server (Convergence.panel_state).
INSTALLING = "installing"
INSTALL_FAILED = "install_failed"
MISSING = "missing"  # the server is gone though it should exist


@dataclass(frozen=True)
class Convergence:
    """What ``converge`` found in the panel and did about it."""

    panel_state: str  # active | suspended | deleted | installing | install_failed | missing
    repaired: tuple[str, ...] = ()  # what it changed to match ("suspended", "renamed", ...)
    needs_human: str = ""  # a difference it does not repair (the message says what and why)
    detail: str = ""  # e.g. why an installation failed


@runtime_checkable
class Provisioner(Protocol):
    identifier: str
    display_name: str

    def settings_schema(self) -> list[SettingSpec]: ...

    def checkout_fields(self, product) -> list[SettingSpec]: ...

    def create(self, service) -> str: ...

    def suspend(self, service) -> None: ...

    def unsuspend(self, service) -> None: ...

    def terminate(self, service) -> None: ...

    def change_package(self, service, product) -> None: ...

    def reinstall(self, service) -> None: ...

    def status(self, service) -> LiveStatus: ...

    # Optional: ``power(service, signal)`` with signal one of POWER_SIGNALS starts, stops,
    # restarts or kills the running server (the API's power actions); raise ProvisionError.


POWER_SIGNALS = ("start", "stop", "restart", "kill")


class ManualProvisioner:
    """Staff fulfil orders by hand; the store only tracks the lifecycle."""

    identifier = "manual"
    display_name = "Manual (staff fulfil by hand)"

    def settings_schema(self) -> list[SettingSpec]:
        return [
            SettingSpec(
                key="instructions", type="text", label="Fulfilment notes for staff", default=""
            )
        ]

    def checkout_fields(self, product) -> list[SettingSpec]:
        return []

    def create(self, service) -> str:
        return f"manual-{service.id}"

    def suspend(self, service) -> None:
        return None

    def unsuspend(self, service) -> None:
        return None

    def terminate(self, service) -> None:
        return None

    def change_package(self, service, product) -> None:
        return None

    def reinstall(self, service) -> None:
        return None

    def status(self, service) -> LiveStatus:
        return LiveStatus("unknown", "fulfilled by staff")


def provisioners() -> dict[str, Provisioner]:
    out: dict[str, Provisioner] = {}
    for provisioner in collect("register_provisioners", Provisioner):
        out.setdefault(provisioner.identifier, provisioner)
    return out


def provisioner_for(product) -> Provisioner:
    found = provisioners().get(product.provisioner)
    if found is None:
        raise ProvisionError(
            f"the provisioner {product.provisioner!r} of {product.name!r} is not "
            "available (is its plugin enabled?)"
        )
    return found
