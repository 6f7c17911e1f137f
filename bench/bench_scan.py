"""How long the scan gate takes per builtin plugin: cold (a full scan) and cached (record reused).

    .venv/bin/python bench/bench_scan.py [--repeat N] [--json]

Runs against a throw-away instance (SQLite in a temp folder) and the local
fake OSV server, so it needs no network. "cold" is ``scan_plugin(force=True)``:
reading every file once, file checks, the kernel's dynamic-code rules, bandit (one
parse per file shared by all three), the dependency audit, storing the record. "cached" is
``scan_plugin()`` finding a fresh record for the same hash, tools and policy:
hashing the files, resolving the dependency pins and one query. The CPU time of the
cold scans (this process's) is reported too: on a machine shared with other work the
wall time can be several times it. The first cold
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
sys.path.insert(0, str(ROOT / "bench"))

from harness import emit, say  # noqa: E402


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:8.1f} ms"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="runs per measurement (median)")
    parser.add_argument("--json", action="store_true", help="a JSON line last on stdout")
    args = parser.parse_args(argv)

    from kernel.plugins.discovery import discover_entry_points
    from kernel.security import scan_plugin
    from kernel.testing import build_app
    from tests.fakes.osv_server import FakeOsv

    logging.getLogger("kernel").setLevel(logging.ERROR)  # "database not initialised" at bootstrap
    builtins = sorted(
        (p for p in discover_entry_points() if p.distribution == "pteroca"), key=lambda p: p.name
    )
    result: dict = {"repeat": args.repeat, "plugins": {}}
    with tempfile.TemporaryDirectory() as tmp, FakeOsv() as osv:
        app = build_app(Path(tmp) / "instance", OSV_URL=osv.url)
        with app.app_context():
            start = time.perf_counter()
            if builtins:
                scan_plugin(builtins[0], force=True)
            first = time.perf_counter() - start
            result["first_scan_s"] = first
            say(f"first scan in this process (imports bandit, pip-audit): {_ms(first)}")
            say(
                f"{'plugin':<22} {'files':>5} {'verdict':<8} {'cold':>11} {'cached':>11} "
                f"{'cold/cached':>11}"
            )
            for plugin in builtins:
                cold, cold_cpu, cached = [], [], []
                record = None
                for _ in range(args.repeat):
                    start, start_cpu = time.perf_counter(), time.process_time()
                    record = scan_plugin(plugin, force=True)
                    cold.append(time.perf_counter() - start)
                    cold_cpu.append(time.process_time() - start_cpu)
                    start = time.perf_counter()
                    reused = scan_plugin(plugin)
                    cached.append(time.perf_counter() - start)
                    if reused.id != record.id:
                        raise RuntimeError(f"{plugin.name}: the fresh scan record was not reused")
                c, h = statistics.median(cold), statistics.median(cached)
                snapshot = plugin.snapshot()
                source_bytes = sum(
                    len(data) for rel, data in snapshot.data.items() if rel.endswith(".py")
                )
                result["plugins"][plugin.name] = {
                    "files": len(plugin.files()),
                    "source_bytes": source_bytes,
                    "verdict": str(record.verdict),
                    "cold_s": c,
                    "cached_s": h,
                    "cold_cpu_s": statistics.median(cold_cpu),
                }
                say(
                    f"{plugin.name:<22} {len(plugin.files()):>5} {record.verdict:<8} "
                    f"{_ms(c)} {_ms(h)} {c / h:>10.1f}x"
                )
    emit(result, args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
