"""Hook dispatch: what one call of ``dashboard_widgets`` and of an event hook costs per plugin.

    .venv/bin/python bench/bench_hooks.py [--counts 1,10,50] [--json]

A pluggy PluginManager with the kernel's hookspecs (as the loader builds it)
gets N plugin objects, each implementing ``dashboard_widgets`` (returning one
widget, as a real widget hook does, without touching the database) and the
``wallet_changed`` event (returning None). Calls go through the kernel's hook caller
(:mod:`kernel.hooks`: ``collect`` for the widgets, ``call_hook`` for the event), which runs
each plugin's implementation in its own error boundary, inside an app context as in a
request; pluggy's own loop (``pm.hook.<name>(...)``, no boundary) is measured too, for
comparison. The time per call is the best of several timing runs (the least disturbed by
other processes); "per plugin" is that time divided by N. The marginal cost (the slope
between the smallest and the largest N) is shown as well: what one more plugin adds.
"""

from __future__ import annotations

import argparse
import sys
import timeit
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import emit, say  # noqa: E402


def make_plugin(index: int):
    from kernel import hookimpl

    class Plugin:
        @hookimpl
        def dashboard_widgets(self, user):
            return [{"title": f"Widget {index}", "order": index, "html": "<p>hello</p>"}]

        @hookimpl
        def wallet_changed(self, user, entry):
            return None

    return Plugin()


def manager(count: int):
    import pluggy

    from kernel import hookspecs
    from kernel.plugin_lifecycle.loader import PROJECT

    pm = pluggy.PluginManager(PROJECT)
    pm.add_hookspecs(hookspecs)
    for index in range(count):
        pm.register(make_plugin(index), name=f"plugin_{index}")
    return pm


def app_for(pm):
    """A bare Flask app holding ``pm`` as the loader's PluginHost would (no database)."""
    from types import SimpleNamespace

    from flask import Flask

    app = Flask("bench_hooks")
    app.extensions["pteroca"] = SimpleNamespace(pm=pm, loaded={}, problems={})
    return app


def per_call_us(func, repeat: int = 5) -> float:
    """Best of ``repeat`` runs, in microseconds per call; each run lasts about 0.2 s."""
    timer = timeit.Timer(func)
    number, _ = timer.autorange()
    number = max(number, 1)
    return min(timer.repeat(repeat=repeat, number=number)) / number * 1e6


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--counts", default="1,10,50")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    counts = [int(c) for c in args.counts.split(",")]
    from kernel.hooks import call_hook, collect

    user, entry = object(), object()
    result: dict = {"counts": counts, "hooks": {}, "pluggy": {}}
    callers = {
        "hooks": {  # the kernel's caller: what every call site uses
            "dashboard_widgets": lambda pm: lambda: collect("dashboard_widgets", dict, user=user),
            "wallet_changed": lambda pm: (
                lambda: call_hook("wallet_changed", user=user, entry=entry)
            ),
        },
        "pluggy": {  # pluggy's own loop, without error boundaries
            "dashboard_widgets": lambda pm: lambda: pm.hook.dashboard_widgets(user=user),
            "wallet_changed": lambda pm: lambda: pm.hook.wallet_changed(user=user, entry=entry),
        },
    }
    say(f"{'caller':<7} {'hook':<20} {'plugins':>7} {'us/call':>9} {'us/plugin':>10}")
    for kind, hooks in callers.items():
        for hook, make_call in hooks.items():
            rows = {}
            for count in counts:
                pm = manager(count)
                with app_for(pm).app_context():
                    call = make_call(pm)
                    got = call()
                    if hook == "dashboard_widgets" and len(got) != count:
                        raise RuntimeError(f"{count} plugins gave {len(got)} answers")
                    us = per_call_us(call)
                rows[str(count)] = {"us_per_call": us, "us_per_plugin": us / count}
                say(f"{kind:<7} {hook:<20} {count:>7} {us:>9.2f} {us / count:>10.3f}")
            lo, hi = min(counts), max(counts)
            marginal = (
                (rows[str(hi)]["us_per_call"] - rows[str(lo)]["us_per_call"]) / (hi - lo)
                if hi > lo
                else rows[str(hi)]["us_per_plugin"]
            )
            result[kind][hook] = {
                "by_count": rows,
                "marginal_us_per_plugin": marginal,
                "max_us_per_plugin": max(r["us_per_plugin"] for r in rows.values()),
            }
            say(f"{kind:<7} {hook:<20} marginal {marginal:.3f} us per extra plugin")
    emit(result, args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
