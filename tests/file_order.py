"""The order in which pytest-xdist hands out test files: the longest first.

``make test`` runs ``-n 2 --dist loadfile --no-loadscope-reorder``: each file stays on one
worker, and the workers take files from one queue in collection order. pytest-xdist's own
order (``--loadscope-reorder``, its default) puts the files with the most tests first, which
sends the single-test files last: the cluster and fault-injection tests, the browser journeys,
each of them minutes long. One of them taken near the end kept one worker busy for minutes
while the other had nothing left to do. Longest first (the classic LPT rule) leaves at most the
length of a short file between the two workers' finishing times.

A file's length is its measured wall time when it is in :data:`MEASURED_SECONDS` (the files far
slower than their test count says), else its test count times the seconds per test of its
folder (:data:`SECONDS_PER_TEST_IN`: browser and topology) or of the suite
(:data:`SECONDS_PER_TEST`). The
table needs no precision: a file only has to be in the right neighbourhood of the queue. Add a
file when ``--durations`` shows it among the slowest.
"""

from __future__ import annotations

from collections import Counter

# Expected wall seconds of a file on a quiet 2-core machine, rounded: measured with `-n 0` on
# SQLite at a load of 8 to 13 (docs/testing.md, "The order of the files"), halved for the files
# that mostly wait (real processes, timers, a browser), quartered for the ones that compute.
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
    "tests/topology/test_rate_limits.py": 8,  # in-process, unlike the rest of the folder
    "tests/topology/test_health.py": 4,
    "tests/security/test_bandit_walk.py": 12,
    "tests/kernel/test_demo.py": 47,
    "tests/themes/test_reach.py": 45,
    "tests/test_contracts.py": 25,
    "tests/kernel/test_request_cost.py": 22,
    "tests/kernel/test_error_boundary.py": 20,
    "tests/themes/test_themes.py": 20,
    "tests/themes/test_sandbox.py": 20,
    "tests/kernel/test_plugin_lifecycle.py": 19,
    "tests/themes/test_hostile_theme.py": 12,
    "tests/kernel/test_hotswap.py": 23,  # waits for the hot swap
    "tests/kernel/test_plugin_health.py": 15,
    "tests/kernel/test_cron.py": 14,
    "tests/api/test_schemathesis.py": 53,
    "tests/api/test_store_api.py": 20,
    "tests/api/test_store_admin_api.py": 11,
    "tests/pterodactyl/test_provisioner.py": 26,
    "tests/pterodactyl/test_convergence.py": 26,
    "tests/pterodactyl/test_convergence_property.py": 24,
    "tests/pterodactyl/test_tabs_access.py": 23,
    "tests/pterodactyl/test_tabs.py": 20,
    "tests/pterodactyl/test_tabs_second_panel.py": 15,
    "tests/pterodactyl/test_reconcile.py": 11,
    "tests/devkit/test_e2e.py": 78,  # builds and installs a scaffolded plugin
    "tests/security/test_scan_integrity.py": 20,
    "tests/security/test_cli.py": 20,
    "tests/security/test_builtin_plugins.py": 17,
    "tests/security/test_shared_walks.py": 6,
    "tests/browser/test_theme_pages.py": 60,
    "tests/browser/test_keyboard_journey.py": 35,
    "tests/browser/test_first_hour.py": 30,
    "tests/browser/test_admin_journey.py": 28,
    "tests/browser/test_admin_look.py": 27,
    "tests/browser/test_invoices_journey.py": 20,
    "tests/browser/test_pterodactyl_server.py": 16,
    "tests/browser/test_support_journey.py": 14,
    "tests/browser/test_oauth_journey.py": 9,
    "tests/browser/test_customer_journey.py": 9,
    "tests/browser/test_stripe_topup.py": 4,
    "tests/browser/test_smoke.py": 2,
    "tests/browser/test_input_patterns.py": 2,
    "tests/test_packaging.py": 15,  # builds the wheel
}
# Folders whose every test drives a browser or real processes: a file of theirs missing from
# the table above (a new journey) is still expected to be long. Measured the same way.
SECONDS_PER_TEST_IN: dict[str, float] = {"tests/browser/": 13, "tests/topology/": 10}
SECONDS_PER_TEST = 0.5  # the rest of the suite: its total wall time over its test count


def file_of(nodeid: str) -> str:
    return nodeid.split("::", 1)[0]


def expected_seconds(path: str, tests: int) -> float:
    if path in MEASURED_SECONDS:
        return MEASURED_SECONDS[path]
    for folder, seconds in SECONDS_PER_TEST_IN.items():
        if path.startswith(folder):
            return tests * seconds
    return tests * SECONDS_PER_TEST


def longest_first(items: list) -> None:
    """Sort ``items`` in place: files by expected length, longest first; a file's tests stay
    together and in their order (the sort is stable)."""
    counts = Counter(file_of(item.nodeid) for item in items)
    items.sort(
        key=lambda item: -expected_seconds(file_of(item.nodeid), counts[file_of(item.nodeid)])
    )
