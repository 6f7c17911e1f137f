"""Memory: resident size of one web worker over 10,000 dashboard requests.

    .venv/bin/python bench/bench_memory.py [--requests 10000] [--warmup 1000] [--json]

The site of the overhead benchmark (store enabled, a customer with servers) is
served by gunicorn with one worker (``kernel.wsgi:application``); the logged-in
dashboard is requested ``--requests`` times from another process
(``loadgen.py``, fixed request counts). The worker's resident size (VmRSS) is
sampled every ``--sample`` requests; reported are the size after the warm-up,
at the end, their difference and the peak (VmHWM). A worker that keeps
something per request grows after the warm-up; one that does not stays flat.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / "fixtures"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import Gunicorn, emit, proc_status_kib, pyload, quiet_logs, say  # noqa: E402

# Growth after the warm-up below this is noise (allocator arenas, caches filling up).
GROWTH_LIMIT_KIB = 1024


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--warmup", type=int, default=1_000)
    parser.add_argument("--sample", type=int, default=1_000)
    parser.add_argument("--connections", type=int, default=2)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    quiet_logs()
    import benchsite

    samples = []
    with tempfile.TemporaryDirectory(prefix="pteroca-bench-") as tmp:
        instance = Path(tmp) / "instance"
        benchsite.build_site(instance)
        with Gunicorn(
            "kernel.wsgi:application", benchsite.server_env(instance), 1, name="pteroca"
        ) as server:
            cookie = benchsite.log_in(server.url)
            (worker,) = server.worker_pids()
            start_kib = proc_status_kib(worker, "VmRSS")
            done, errors, seconds = 0, 0, 0.0
            while done < args.requests:
                step = min(args.sample, args.requests - done)
                if done < args.warmup:
                    step = min(step, args.warmup - done)
                result = pyload(
                    server.url + "/dashboard",
                    requests=step,
                    connections=args.connections,
                    cookie=cookie,
                )
                done += step
                errors += result["errors"]
                seconds += result["seconds"]
                if server.worker_pids() != [worker]:
                    raise RuntimeError("the worker was restarted during the run")
                samples.append({"requests": done, "rss_kib": proc_status_kib(worker, "VmRSS")})
                say(f"  {done:>6} requests: RSS {samples[-1]['rss_kib'] / 1024:6.1f} MiB")
            peak_kib = proc_status_kib(worker, "VmHWM")
    if errors:
        raise RuntimeError(f"{errors} dashboard requests failed")
    after_warmup = next(s for s in samples if s["requests"] >= args.warmup)
    end = samples[-1]
    growth = end["rss_kib"] - after_warmup["rss_kib"]
    result = {
        "requests": args.requests,
        "warmup": args.warmup,
        "start_kib": start_kib,
        "warmup_kib": after_warmup["rss_kib"],
        "end_kib": end["rss_kib"],
        "growth_kib": growth,
        "peak_kib": peak_kib,
        "samples": samples,
        "growth_limit_kib": GROWTH_LIMIT_KIB,
        "rps": args.requests / seconds,
    }
    say(
        f"RSS after {args.warmup} requests {after_warmup['rss_kib'] / 1024:.1f} MiB, after "
        f"{args.requests} {end['rss_kib'] / 1024:.1f} MiB: growth {growth} KiB; "
        f"peak {peak_kib / 1024:.1f} MiB"
    )
    emit(result, args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
