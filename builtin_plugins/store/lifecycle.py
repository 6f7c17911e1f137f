"""Server states and the moves between them: the store's one state machine, and the panel
state each of them asks for (the desired state the reconciler drives the panel toward)."""

from __future__ import annotations

PROVISIONING = "provisioning"
ACTIVE = "active"
SUSPENDED = "suspended"
FAILED = "provisioning_failed"
TERMINATED = "terminated"

TRANSITIONS: dict[str, frozenset[str]] = {
    PROVISIONING: frozenset({ACTIVE, FAILED}),
    FAILED: frozenset({PROVISIONING, TERMINATED}),
    ACTIVE: frozenset({SUSPENDED, TERMINATED, FAILED}),  # FAILED: its first install failed
    SUSPENDED: frozenset({ACTIVE, TERMINATED}),
    TERMINATED: frozenset(),
}

LIVE = (PROVISIONING, ACTIVE, SUSPENDED, FAILED)  # counted against stock and per-customer limits

# Desired panel states.
PANEL_ACTIVE = "active"
PANEL_SUSPENDED = "suspended"
PANEL_DELETED = "deleted"
DESIRED: dict[str, str] = {
    PROVISIONING: PANEL_ACTIVE,  # created and installed
    ACTIVE: PANEL_ACTIVE,
    SUSPENDED: PANEL_SUSPENDED,
    FAILED: PANEL_DELETED,  # nothing the customer paid for may stay behind (refunded)
    TERMINATED: PANEL_DELETED,
}


def desired_for(state: str) -> str:
    """The panel state a server in ``state`` should have."""
    return DESIRED[state]


class IllegalMove(Exception):
    """A state change the lifecycle does not allow; the message is shown as is."""


def check(service_id: int, current: str, target: str) -> None:
    if target not in TRANSITIONS[current]:
        if current == TERMINATED:
            raise IllegalMove(f"server #{service_id} was deleted")
        raise IllegalMove(
            f"server #{service_id} is {current.replace('_', ' ')} and cannot become "
            f"{target.replace('_', ' ')}"
        )
