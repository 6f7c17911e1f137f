import pytest

from kernel.plugins.states import TRANSITIONS, IllegalTransition, State, check_transition


def test_every_state_has_a_row():
    assert set(TRANSITIONS) == set(State)


@pytest.mark.parametrize(
    "current,target,words",
    [
        ("enabled", "enabled", "already enabled"),
        ("disabled", "disabled", "already disabled"),
        ("discovered", "disabled", "never enabled"),
        ("discovered", "update_pending", "cannot go from discovered to update_pending"),
        ("blocked", "update_pending", "cannot go from blocked to update_pending"),
    ],
)
def test_illegal_moves_are_refused_with_a_reason(current, target, words):
    with pytest.raises(IllegalTransition, match=words):
        check_transition("p", current, target)


def test_legal_moves():
    assert check_transition("p", "discovered", "enabled") is State.ENABLED
    assert check_transition("p", "update_pending", "enabled") is State.ENABLED
    assert check_transition("p", "faulted", "disabled") is State.DISABLED
