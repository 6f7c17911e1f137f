"""Background jobs: ``enqueue(fn, *args)``.

Jobs are plain module-level functions (addressable by import path) taking plain
arguments (ids, not ORM objects), so the same call can later run on an rq worker.
Today every job runs inline, in the caller's app context.
"""

from __future__ import annotations

from collections.abc import Callable


def enqueue(fn: Callable, *args, **kwargs):
    """Run ``fn(*args, **kwargs)`` as a job; returns its result when run inline."""
    return fn(*args, **kwargs)
