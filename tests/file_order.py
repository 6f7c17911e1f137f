"""The order in which pytest-xdist hands out test files: the longest first.

``make test`` runs ``-n 2 --dist loadfile --no-loadscope-reorder``: each file stays on one
worker, and the workers take files from one queue in collection order. pytest-xdist's own
order (``--loadscope-reorder``, its default) puts the files with the most tests first, which
sends the single-test files last: the cluster and fault-injection tests, the browser journeys,
each of them minutes long. One of them taken near the end kept one worker busy for minutes
while the other had nothing left to do. Longest first (the classic LPT rule) leaves at most the
length of a short file between the two workers' finishing times.

A file's length is its measured wall time when it is in :data:`MEASURED_SECONDS` (the files far
slower than their test count says), else its test count times :data:`SECONDS_PER_TEST`. The
table needs no precision: a file only has to be in the right neighbourhood of the queue. Add a
file when ``--durations`` shows it among the slowest.
"""

from __future__ import annotations

from collections import Counter

# Expected wall seconds of a file on a quiet 2-core machine: measured with `-n 0` at a load
# of about 8 (docs/testing.md, "The order of the files") and halved; rounded. Their tests wait
# on real processes, timers and browsers, so their time hardly shrinks with their test count.
MEASURED_SECONDS: dict[str, float] = {
    "tests/topology/test_cluster_faults.py": 480,  # 5 to 11 minutes on CI and here
    "tests/topology/test_cluster.py": 90,
    "tests/topology/test_journey_browser.py": 80,
    "tests/topology/test_worker.py": 120,
    "tests/topology/test_worker_recovery.py": 60,
    "tests/topology/test_serve.py": 50,
    "tests/topology/test_mail_queue.py": 40,
    "tests/topology/test_payment_webhooks.py": 30,
    "tests/topology/test_scheduler.py": 25,
    "tests/security/test_bandit_walk.py": 25,
}
SECONDS_PER_TEST = 0.5  # the rest of the suite: its total wall time over its test count


def file_of(nodeid: str) -> str:
    return nodeid.split("::", 1)[0]


def expected_seconds(path: str, tests: int) -> float:
    return MEASURED_SECONDS.get(path, tests * SECONDS_PER_TEST)


def longest_first(items: list) -> None:
    """Sort ``items`` in place: files by expected length, longest first; a file's tests stay
    together and in their order (the sort is stable)."""
    counts = Counter(file_of(item.nodeid) for item in items)
    items.sort(
        key=lambda item: -expected_seconds(file_of(item.nodeid), counts[file_of(item.nodeid)])
    )
