"""The app generation: one number, cluster-wide, that says "rebuild your app now".

Flask cannot add or remove routes on a running app, so every change to what the app is made
of (a plugin enabled, disabled, blocked or faulted; a theme activated) bumps the generation
stored in ``kernel_state``. Each process compares it with the generation its app was built
for and rebuilds on a difference (:class:`kernel.wsgi.HotSwapApplication`, the worker and the
scheduler). The process that made the change also sets a local flag, so it swaps at once
instead of at its next poll.
"""

from __future__ import annotations

import threading

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError

from kernel.extensions import db
from kernel.models import KernelState

# The kernel_state row; the name says "plugin" because plugins were the first to bump it.
GENERATION_KEY = "plugin_generation"

_local_change = threading.Event()


def read_generation() -> int:
    """The stored generation (0 before the first bump)."""
    row = db.session.get(KernelState, GENERATION_KEY)
    return row.value if row else 0


def bump_generation() -> int:
    """Advance the cluster-wide generation and commit; every process rebuilds its app on
    seeing it, this one at once. Returns the new generation."""
    result = db.session.execute(
        update(KernelState)
        .where(KernelState.key == GENERATION_KEY)
        .values(value=KernelState.value + 1)
    )
    if result.rowcount == 0:
        try:
            with db.session.begin_nested():
                db.session.add(KernelState(key=GENERATION_KEY, value=1))
        except IntegrityError:
            db.session.execute(
                update(KernelState)
                .where(KernelState.key == GENERATION_KEY)
                .values(value=KernelState.value + 1)
            )
    db.session.commit()
    mark_local_change()
    return read_generation()


def mark_local_change() -> None:
    """This process changed the generation (or must rebuild for another reason): swap at once."""
    _local_change.set()


def take_local_change() -> bool:
    """True once after :func:`mark_local_change`."""
    if _local_change.is_set():
        _local_change.clear()
        return True
    return False
