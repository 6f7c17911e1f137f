"""Process-local signal that this process changed the plugin set and should swap at once."""

from __future__ import annotations

import threading

_local_change = threading.Event()


def mark_local_change() -> None:
    _local_change.set()


def take_local_change() -> bool:
    """True once after this process changed the plugin generation."""
    if _local_change.is_set():
        _local_change.clear()
        return True
    return False
