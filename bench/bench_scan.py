"""How long the scan gate takes per builtin plugin: cold (a full scan) and cached (record reused).

    .venv/bin/python bench/bench_scan.py [--repeat N]

Runs against a throw-away instance (SQLite in a temp folder) and the local
fake OSV server, so it needs no network. "cold" is ``scan_plugin(force=True)``:
bandit + file checks + the dependency audit + storing the record. "cached" is
``scan_plugin()`` finding a fresh record for the same hash, tools and policy:
hashing the files, resolving the dependency pins and one query. The first cold
scan of the process also pays for importing bandit and pip-audit; it is shown
apart.
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:8.1f} ms"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="runs per measurement (median)")
    args = parser.parse_args(argv)

    from kernel.plugins.discovery import discover_entry_points
    from kernel.security import scan_plugin
    from kernel.testing import build_app
    from tests.fakes.osv_server import FakeOsv

    logging.getLogger("kernel").setLevel(logging.ERROR)  # "database not initialised" at bootstrap
    builtins = sorted((p for p in discover_entry_points() if p.distribution == "pteroca"),
                      key=lambda p: p.name)
    with tempfile.TemporaryDirectory() as tmp, FakeOsv() as osv:
        app = build_app(Path(tmp) / "instance", OSV_URL=osv.url)
        with app.app_context():
            start = time.perf_counter()
            if builtins:
                scan_plugin(builtins[0], force=True)
            first = time.perf_counter() - start
            print(f"first scan in this process (imports bandit, pip-audit): {_ms(first)}")
            print(f"{'plugin':<22} {'files':>5} {'verdict':<8} {'cold':>11} {'cached':>11} "
                  f"{'cold/cached':>11}")
            for plugin in builtins:
                cold, cached = [], []
                record = None
                for _ in range(args.repeat):
                    start = time.perf_counter()
                    record = scan_plugin(plugin, force=True)
                    cold.append(time.perf_counter() - start)
                    start = time.perf_counter()
                    reused = scan_plugin(plugin)
                    cached.append(time.perf_counter() - start)
                    assert reused.id == record.id, "the fresh record was not reused"
                c, h = statistics.median(cold), statistics.median(cached)
                print(f"{plugin.name:<22} {len(plugin.files()):>5} {record.verdict:<8} "
                      f"{_ms(c)} {_ms(h)} {c / h:>10.1f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
