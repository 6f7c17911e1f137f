"""Webhook answers while the providers are slow: the goal of issue 18 as a measurement.

    .venv/bin/python bench/bench_webhooks.py [--delay 2] [--rounds 3] [--json]

A served app (threaded WSGI server, the hot-swap wrapper, a private Redis as in production)
with the Stripe and PayPal plugins talking to their simulators. Five paid top-ups per
provider; then every provider API call is delayed by ``--delay`` seconds and 20 deliveries
(a refund and a dispute per Stripe payment, a reversal delivered twice per PayPal payment)
arrive at once. Each answer is timed from the client; the figure is the slowest answer of
each round, set against the 1 s goal (the goal is met when every round's slowest answer is
under it). A webhook that waited on its provider would take at least ``--delay``. The
suite's test (tests/topology/test_payment_webhooks.py) checks the behaviour with a wide
margin; this prints the number.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import emit, quiet_logs, say  # noqa: E402

GOAL_SECONDS = 1.0


def build(instance: Path, redis_url: str, osv_url: str, stripe, paypal):
    from kernel.testing import build_app
    from tests.topology.webhook_burst import money_app

    return money_app(build_app(instance, OSV_URL=osv_url, REDIS_URL=redis_url), stripe, paypal)


def one_round(app, delay: float, stripe, paypal) -> dict:
    from tests.helpers import served
    from tests.topology.webhook_burst import deliveries as burst_of
    from tests.topology.webhook_burst import paid_topups

    payments = paid_topups(app, stripe, paypal, 5)
    with served(app) as base:
        stripe.webhook_url = f"{base}/payments/stripe/webhook"
        deliveries = burst_of(base, payments, stripe, paypal)
        warm = stripe.send(stripe.event("customer.created", {"id": "cus_1", "object": "customer"}))
        if warm.status != 200:
            raise SystemExit(f"warm-up webhook answered {warm.status}")
        stripe.delay = paypal.delay = delay
        gate = threading.Barrier(len(deliveries))
        results: list[tuple[int | None, float]] = []

        def deliver(send):
            gate.wait()
            start = time.monotonic()
            status = send()
            results.append((status, time.monotonic() - start))

        threads = [threading.Thread(target=deliver, args=(send,)) for send in deliveries]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60 + 2 * delay)
        stripe.delay = paypal.delay = 0
    seconds = sorted(s for _, s in results)
    return {
        "answers": len(results),
        "ok": sum(1 for s, _ in results if s and 200 <= s < 300),
        "slowest_s": seconds[-1] if seconds else None,
        "median_s": statistics.median(seconds) if seconds else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--delay", type=float, default=2.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    quiet_logs()
    import logging

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one access line per request

    from simulators.paypal import FakePayPal
    from simulators.stripe import FakeStripe
    from tests.fakes.osv_server import FakeOsv
    from tests.services import RedisServer, require_redis_server

    rounds = []
    with tempfile.TemporaryDirectory(prefix="pteroca-bench-webhooks-") as tmp:
        redis = RedisServer(require_redis_server()).start()
        try:
            with FakeOsv() as osv, FakeStripe() as stripe, FakePayPal() as paypal:
                app = build(Path(tmp) / "instance", redis.url, osv.url, stripe, paypal)
                for number in range(args.rounds):
                    result = one_round(app, args.delay, stripe, paypal)
                    say(
                        f"round {number + 1}: {result['ok']}/{result['answers']} answered 2xx, "
                        f"slowest {result['slowest_s']:.3f} s, median {result['median_s']:.3f} s "
                        f"(providers take {args.delay:g} s per call)"
                    )
                    rounds.append(result)
        finally:
            redis.stop()
    slowest = max(r["slowest_s"] for r in rounds)
    ok = all(r["ok"] == r["answers"] == 20 for r in rounds)
    say(
        f"slowest answer {slowest:.3f} s = {slowest / GOAL_SECONDS:.2f} x the {GOAL_SECONDS:g} s "
        f"goal; {slowest / args.delay:.3f} x the provider delay"
    )
    emit(
        {
            "delay_s": args.delay,
            "rounds": rounds,
            "slowest_s": slowest,
            "ratio_to_goal": slowest / GOAL_SECONDS,
            "all_2xx": ok,
        },
        args.json,
    )


if __name__ == "__main__":
    main()
