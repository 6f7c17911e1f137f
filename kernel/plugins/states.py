"""The plugin state machine: the one place that says which moves are legal."""

from __future__ import annotations

from enum import StrEnum


class State(StrEnum):
    DISCOVERED = "discovered"
    ENABLED = "enabled"
    DISABLED = "disabled"
    FAULTED = "faulted"
    BLOCKED = "blocked"
    UPDATE_PENDING = "update_pending"


S = State

# from-state -> states it may move to.
TRANSITIONS: dict[State, frozenset[State]] = {
    # faulted is reachable from every state: enabling imports the plugin, and it can fail there.
    S.DISCOVERED: frozenset({S.ENABLED, S.BLOCKED, S.FAULTED}),
    S.ENABLED: frozenset({S.DISABLED, S.FAULTED, S.BLOCKED, S.UPDATE_PENDING}),
    S.DISABLED: frozenset({S.ENABLED, S.BLOCKED, S.FAULTED}),
    S.FAULTED: frozenset({S.ENABLED, S.DISABLED, S.BLOCKED, S.UPDATE_PENDING}),
    S.BLOCKED: frozenset({S.ENABLED, S.DISABLED, S.FAULTED}),
    S.UPDATE_PENDING: frozenset({S.ENABLED, S.DISABLED, S.BLOCKED, S.FAULTED}),
}

# Why a move is refused, for the messages users see.
_REFUSALS: dict[tuple[State, State], str] = {
    (S.ENABLED, S.ENABLED): "is already enabled",
    (S.DISABLED, S.DISABLED): "is already disabled",
    (S.DISCOVERED, S.DISABLED): "was never enabled, so there is nothing to disable",
    (S.BLOCKED, S.BLOCKED): "is already blocked",
}


class IllegalTransition(Exception):
    """A state change the table does not allow; the message says why in one line."""


def check_transition(name: str, current: str | State, target: str | State) -> State:
    """Return ``target`` as a State if ``current -> target`` is allowed, else raise."""
    cur, tgt = State(current), State(target)
    if tgt in TRANSITIONS[cur]:
        return tgt
    why = _REFUSALS.get((cur, tgt), f"cannot go from {cur} to {tgt}")
    raise IllegalTransition(f"plugin {name!r} {why}")
