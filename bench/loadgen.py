"""A small HTTP load generator for when wrk is not installed (and for fixed request counts).

    python bench/loadgen.py URL [--seconds S | --requests N] [--connections C] [--header "K: V"]

Runs in its own process: C threads, each sending GET requests one after another
(reconnecting when the server closes the connection, as gunicorn's sync workers
do). Prints one JSON line: rps, p50_ms, p99_ms, requests, errors (any answer
other than 200, or a socket error).
"""

from __future__ import annotations

import argparse
import http.client
import json
import threading
import time
from urllib.parse import urlsplit


def percentile(sorted_values: list[float], fraction: float) -> float | None:
    if not sorted_values:
        return None
    index = min(len(sorted_values) - 1, max(0, round(fraction * (len(sorted_values) - 1))))
    return sorted_values[index]


def run(
    url: str,
    *,
    seconds: float | None,
    requests: int | None,
    connections: int,
    headers: dict[str, str],
) -> dict:
    parts = urlsplit(url)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    latencies: list[list[float]] = [[] for _ in range(connections)]
    errors = [0] * connections
    lock = threading.Lock()
    budget = [requests]
    deadline = time.perf_counter() + seconds if seconds else None

    def take() -> bool:
        if deadline is not None and time.perf_counter() >= deadline:
            return False
        if budget[0] is None:
            return True
        with lock:
            if budget[0] <= 0:
                return False
            budget[0] -= 1
            return True

    def worker(i: int) -> None:
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
        while take():
            started = time.perf_counter()
            try:
                conn.request("GET", path, headers=headers)
                response = conn.getresponse()
                response.read()
                if response.status != 200:
                    errors[i] += 1
                if response.will_close:
                    conn.close()
            except (OSError, http.client.HTTPException):
                errors[i] += 1
                conn.close()
                conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
                continue
            latencies[i].append((time.perf_counter() - started) * 1000)
        conn.close()

    started = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(i,)) for i in range(connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    values = sorted(v for per in latencies for v in per)
    return {
        "rps": len(values) / elapsed if elapsed else 0.0,
        "requests": len(values),
        "p50_ms": percentile(values, 0.50),
        "p99_ms": percentile(values, 0.99),
        "errors": sum(errors),
        "seconds": elapsed,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url")
    parser.add_argument("--seconds", type=float)
    parser.add_argument("--requests", type=int)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--header", action="append", default=[], help='"Name: value"')
    args = parser.parse_args(argv)
    if not args.seconds and not args.requests:
        parser.error("give --seconds or --requests")
    headers = {}
    for item in args.header:
        name, _, value = item.partition(":")
        headers[name.strip()] = value.strip()
    result = run(
        args.url,
        seconds=args.seconds,
        requests=args.requests,
        connections=args.connections,
        headers=headers,
    )
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
