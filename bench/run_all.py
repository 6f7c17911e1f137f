"""Run every benchmark, print the results table and rewrite it in bench/README.md.

    .venv/bin/python bench/run_all.py [--postgres URL] [--only a,b] [--quick] [--no-readme] [--json]

(``make bench`` runs this.) Each benchmark runs alone, one after another, as its
own process (``bench/bench_<name>.py --json``), so none disturbs another; each
prints its progress on stderr and one JSON object on its last stdout line. The
whole run fits in ``--budget`` seconds (default 585, under the ten minutes the
issue allows): a benchmark still running when the budget is spent is stopped and
shown as not measured. Every figure is a ratio or a rate measured side by side
in this one run, and is set against its goal (PASS or MISSED).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import BENCH, POSTGRES_ENV, PYTHON, ROOT, WRK, machine, say  # noqa: E402

README = BENCH / "README.md"
BEGIN = "<!-- bench-results:begin (written by bench/run_all.py; edits here are overwritten) -->"
END = "<!-- bench-results:end -->"

SWEEP_SIZES = "10000,100000,300000"

# Goals from the issue.
OVERHEAD_RATIO = 0.9  # issue 20 (was 0.8)
HOOK_US_PER_PLUGIN = 10.0
BUILD_SECONDS = 0.5
# The Pterodactyl plugin, production code only (its simulator lives in simulators/).
SCAN_GOALS = {"pterodactyl": 0.5}
SCAN_SECONDS = 2.0  # cold scan of the largest builtin plugin
SWAP_SECONDS = 3.0
SWEEP_RATE = 5000.0
SWEEP_LINEARITY = 0.20
MEMORY_GROWTH_KIB = 1024
WEBHOOK_SECONDS = 1.0  # 20 concurrent deliveries, providers taking 2 s per call
SERVERS_STATEMENTS = 15  # issue 20: the servers list of a customer with 50 servers
SERVERS_RATIO = 2.0  # its p50 against the dashboard's
RECONCILE_PER_100 = 3  # issue 20: SQL statements per 100 servers of a reconcile run
RECONCILE_SECONDS = 2.0  # pteroca's own time reconciling 10,000 servers on SQLite
LIST_PAGE_MS = 100.0  # issue 20: the audit and email logs' middle page at 1M rows

PASS, MISSED, FAILED, NOT_MEASURED, INFO = "PASS", "MISSED", "FAILED", "not measured", "-"


def benchmarks(args) -> list[tuple[str, list[str], float]]:
    """(name, argv, longest it may take in seconds), cheapest first, the sweep last."""
    quick = args.quick
    pg = ["--postgres", args.postgres] if args.postgres else []
    return [
        ("hooks", ["bench_hooks.py"], 90),
        ("scan", ["bench_scan.py", "--repeat", "1" if quick else "3"], 120),
        ("build", ["bench_build.py"] + (["--builds", "2", "--swaps", "1"] if quick else []), 150),
        (
            "overhead",
            ["bench_overhead.py"] + (["--seconds", "2", "--rounds", "1"] if quick else []),
            240,
        ),
        ("webhooks", ["bench_webhooks.py"] + (["--rounds", "1"] if quick else []), 120),
        ("servers", ["bench_servers.py"] + (["--requests", "30"] if quick else []), 150),
        ("reconcile", ["bench_reconcile.py"] + (["--servers", "1000"] if quick else []), 300),
        (
            "budget",
            ["bench_reconcile.py", "--budget", "--servers", "2000" if quick else "100000"],
            900,
        ),
        (
            "money",
            ["bench_money.py", "--postgres", args.postgres or ""]
            + (["--seconds", "3"] if quick else []),
            180,
        ),
        (
            "memory",
            ["bench_memory.py"]
            + (["--requests", "2000", "--warmup", "500", "--sample", "500"] if quick else []),
            240,
        ),
        ("lists", ["bench_lists.py", "--rows", "50000" if quick else "1000000"] + pg, 420),
        ("sweep", ["bench_sweep.py", "--sizes", "1000,5000" if quick else SWEEP_SIZES] + pg, 600),
    ]


def run_one(name: str, argv: list[str], timeout: float) -> dict:
    """Run one benchmark; its parsed JSON result, or {"error": why}."""
    cmd = [PYTHON, str(BENCH / argv[0]), *argv[1:], "--json"]
    say(f"\n=== {name}: {' '.join(shlex.quote(a) for a in cmd[1:])}")
    started = time.monotonic()
    try:
        # stderr (progress) goes straight to the terminal; stdout holds the result
        out = subprocess.run(cmd, cwd=ROOT, stdout=subprocess.PIPE, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        result = {
            "error": f"stopped after {timeout:.0f} s (run budget)",
            "elapsed_s": time.monotonic() - started,
        }
        partial = (
            exc.stdout.decode(errors="replace")
            if isinstance(exc.stdout, bytes)
            else (exc.stdout or "")
        )
        if name == "sweep":
            result["partial"] = partial_sweep(partial)
        return result
    elapsed = time.monotonic() - started
    lines = [line for line in out.stdout.splitlines() if line.strip()]
    result = None
    if lines:
        try:
            result = json.loads(lines[-1])
        except ValueError:
            result = None
    if not isinstance(result, dict):
        why = f"exit status {out.returncode}, no JSON result"
        return {"error": why, "elapsed_s": elapsed}
    if out.returncode != 0:
        result.setdefault("error", f"exit status {out.returncode}")
    result["elapsed_s"] = elapsed
    say(f"=== {name}: done in {elapsed:.0f} s")
    return result


def partial_sweep(output: str) -> dict:
    """Rates a stopped sweep printed before it was stopped: "sqlite  10000 servers  6179 ..."."""
    rates: dict = {}
    for match in re.finditer(r"^(\w+)\s+(\d+) servers\s+([\d.]+) servers/s", output, re.M):
        backend = "postgres" if match.group(1).startswith("postgres") else match.group(1)
        rates.setdefault(backend, {})[match.group(2)] = float(match.group(3))
    return rates


# --- the table ---------------------------------------------------------------------------


def verdict(ok: bool) -> str:
    return PASS if ok else MISSED


def not_measured(result: dict | None) -> str:
    why = (result or {}).get("error") or (result or {}).get("skipped") or "not run"
    return f"{NOT_MEASURED} ({why})"


def rows_overhead(r: dict | None) -> list[tuple]:
    rows = []
    for key, label in (
        ("base", "Kernel overhead: logged-in dashboard"),
        ("plugins", "Kernel overhead: dashboard + {n} plugins"),
    ):
        part = (r or {}).get(key)
        if key == "plugins" and part:
            label = label.format(n=part.get("count", "?"))
        elif key == "plugins":
            label = label.format(n=30)
        goal = f"ratio >= {OVERHEAD_RATIO}"
        if not part or "error" in (r or {}):
            rows.append((label, not_measured(r), goal, NOT_MEASURED))
            continue
        p, b = part["pteroca"], part["bare"]
        figure = (
            f"ratio **{part['ratio']:.2f}**: pteroca {p['rps']:.0f} req/s "
            f"(p50 {p['p50_ms']:.1f} ms, p99 {p['p99_ms']:.0f} ms), bare Flask "
            f"{b['rps']:.0f} req/s (p50 {b['p50_ms']:.1f} ms, p99 {b['p99_ms']:.0f} ms); "
            f"worker CPU per request {p['cpu_ms']:.1f} vs {b['cpu_ms']:.1f} ms, cores busy "
            f"{p['cores']:.2f} vs {b['cores']:.2f}; {r['workers']} workers; "
            f"{part.get('queries', '?')} SQL statements per request; "
            f"page {part['page_bytes']['pteroca']} B"
        )
        rows.append((label, figure, goal, verdict(part["ratio"] >= OVERHEAD_RATIO)))
    return rows


def rows_hooks(r: dict | None) -> list[tuple]:
    rows = []
    goal = f"< {HOOK_US_PER_PLUGIN:g} us per plugin"
    for hook in ("dashboard_widgets", "wallet_changed"):
        label = (
            f"Hook dispatch: `{hook}`"
            + (" (event)" if hook == "wallet_changed" else "")
            + ", kernel caller (error boundary per plugin)"
        )
        data = (r or {}).get("hooks", {}).get(hook)
        if not data:
            rows.append((label, not_measured(r), goal, NOT_MEASURED))
            continue
        parts = [
            f"{n} plugin{'s' if n != '1' else ''}: {v['us_per_call']:.1f} us "
            f"({v['us_per_plugin']:.2f}/plugin)"
            for n, v in data["by_count"].items()
        ]
        figure = "; ".join(parts) + f"; marginal {data['marginal_us_per_plugin']:.2f} us/plugin"
        raw = (r or {}).get("pluggy", {}).get(hook)
        if raw:
            figure += f"; pluggy alone {raw['max_us_per_plugin']:.2f} us/plugin at most"
        rows.append((label, figure, goal, verdict(data["max_us_per_plugin"] < HOOK_US_PER_PLUGIN)))
    return rows


def rows_build(r: dict | None) -> list[tuple]:
    rows = []
    build = (r or {}).get("build")
    goal = f"< {BUILD_SECONDS:g} s"
    label = "App build, every builtin plugin"
    if not build:
        rows.append((label, not_measured(r), goal, NOT_MEASURED))
    else:
        figure = (
            f"**{build['median_s'] * 1000:.0f} ms** in a running process (min "
            f"{build['min_s'] * 1000:.0f} ms); a fresh process with its imports "
            f"{build['cold_s']:.2f} s; loaded: {', '.join(build['loaded'])}"
        )
        status = verdict(build["median_s"] < BUILD_SECONDS)
        if build.get("problems") or build.get("enable_failed"):
            figure += f"; NOT LOADED: {build.get('problems') or build.get('enable_failed')}"
            status = FAILED
        rows.append((label, figure, goal, status))
    swap = (r or {}).get("hot_swap")
    goal = f"< {SWAP_SECONDS:g} s (every worker)"
    label = "Hot swap: `pteroca plugin enable` -> page served"
    if not swap:
        rows.append((label, not_measured(r), goal, NOT_MEASURED))
    else:
        figure = (
            f"every worker **{swap['all_workers_s']:.2f} s**, first 200 "
            f"{swap['first_200_s']:.2f} s; CLI committed at {swap['bump_s']:.2f} s "
            f"(returned {swap['cli_s']:.2f} s), first 200 "
            f"{swap['bump_to_200_s']:.2f} s after the commit; {swap['workers']} gunicorn "
            f"workers, poll {swap['poll_seconds']:g} s; median of {len(swap['runs'])}"
        )
        rows.append((label, figure, goal, verdict(swap["all_workers_s"] < SWAP_SECONDS)))
    return rows


def rows_sweep(r: dict | None) -> list[tuple]:
    rows = []
    backends = {
        k: v
        for k, v in (r or {}).items()
        if k in ("sqlite", "postgres") and isinstance(v, dict) and v
    }
    if not backends:
        partial = "; ".join(
            f"{b} {int(n):,}: {float(v):,.0f}/s"
            for b, rates in ((r or {}).get("partial") or {}).items()
            for n, v in rates.items()
        )
        return [
            (
                "Lifecycle sweep (SQLite, PostgreSQL)",
                not_measured(r) + (f"; measured before that: {partial}" if partial else ""),
                f">= {SWEEP_RATE:.0f} servers/s on SQLite; linear within "
                f"{SWEEP_LINEARITY:.0%} 10k -> 300k",
                NOT_MEASURED,
            )
        ]
    for backend in ("sqlite", "postgres"):
        rates = backends.get(backend)
        name = "SQLite" if backend == "sqlite" else "PostgreSQL"
        if not rates:
            rows.append(
                (
                    f"Lifecycle sweep, {name}",
                    not_measured(
                        {"error": "no result for this database"}
                        if backend == "sqlite"
                        else {"skipped": f"no PostgreSQL ({POSTGRES_ENV} not set)"}
                    ),
                    "-",
                    NOT_MEASURED,
                )
            )
            continue
        sizes = sorted(rates, key=int)
        figure = "; ".join(f"{int(s):,} servers: {float(rates[s]):,.0f}/s" for s in sizes)
        if backend == "sqlite":
            low = min(float(v) for v in rates.values())
            rows.append(
                (
                    f"Lifecycle sweep, {name}: rate",
                    figure,
                    f">= {SWEEP_RATE:,.0f} servers/s",
                    verdict(low >= SWEEP_RATE),
                )
            )
        else:
            rows.append((f"Lifecycle sweep, {name}: rate", figure, "(no goal)", INFO))
        first, last = float(rates[sizes[0]]), float(rates[sizes[-1]])
        ratio = last / first if first else 0.0
        rows.append(
            (
                f"Lifecycle sweep, {name}: linearity",
                f"rate at {int(sizes[-1]):,} / rate at {int(sizes[0]):,} = **{ratio:.2f}**",
                f"within {SWEEP_LINEARITY:.0%} (0.80-1.20)",
                verdict(abs(ratio - 1) <= SWEEP_LINEARITY),
            )
        )
    return rows


def rows_webhooks(r: dict | None) -> list[tuple]:
    label = "Webhooks: 20 concurrent deliveries, providers taking 2 s per call"
    goal = f"every answer 2xx, slowest < {WEBHOOK_SECONDS:g} s"
    if not r or "slowest_s" not in r:
        return [(label, not_measured(r), goal, NOT_MEASURED)]
    figure = (
        f"slowest **{r['slowest_s']:.2f} s** (ratio to goal {r['ratio_to_goal']:.2f}); "
        + "; ".join(
            f"round {n}: slowest {x['slowest_s']:.2f} s, median "
            f"{x['median_s']:.2f} s, {x['ok']}/{x['answers']} 2xx"
            for n, x in enumerate(r["rounds"], 1)
        )
    )
    ok = r["all_2xx"] and r["slowest_s"] < WEBHOOK_SECONDS
    return [(label, figure, goal, verdict(ok))]


def rows_servers(r: dict | None) -> list[tuple]:
    label = "Customer `/servers` with 50 servers (Pterodactyl simulator)"
    goal = (
        f"<= {SERVERS_STATEMENTS} SQL statements, 0 panel requests while rendering; p50 "
        f"within {SERVERS_RATIO:g}x of `/dashboard`"
    )
    if not r or "ratio" not in r:
        return [(label, not_measured(r), goal, NOT_MEASURED)]
    label = label.replace("50", str(r["servers"]))
    figure = (
        f"p50 **{r['servers_p50_ms']:.1f} ms** vs `/dashboard` {r['dashboard_p50_ms']:.1f} ms"
        f" (ratio **{r['ratio']:.2f}**); **{r['statements']} SQL statements**, "
        f"**{r['panel_requests']} panel requests** while rendering ({r['refreshes_started']}"
        f" refreshes started beside it); states fragment {r['fragment_cold_ms']:.0f} ms "
        f"with a cold cache, {r['fragment_hung_ms']:.0f} ms with a panel holding every "
        f"answer 5 s; before (one status per server while rendering): "
        f"{r['sequential_ms']:.0f} ms of panel calls alone"
    )
    ok = (
        r["statements"] <= SERVERS_STATEMENTS
        and r["panel_requests"] == 0
        and r["ratio"] <= SERVERS_RATIO
    )
    return [(label, figure, goal, verdict(ok))]


def rows_reconcile(r: dict | None) -> list[tuple]:
    label = "Pterodactyl reconcile, 10,000 servers, SQLite (simulator)"
    goal = (
        f"<= {RECONCILE_PER_100:g} SQL statements per 100 servers; < {RECONCILE_SECONDS:g} s "
        "of pteroca time"
    )
    if not r or "in_line" not in r:
        return [(label, not_measured(r), goal, NOT_MEASURED)]
    label = label.replace("10,000", f"{r['servers']:,}")
    fine, drift = r["in_line"], r["repairing"]
    figure = (
        f"in line: **{r['per_100']:.2f} statements per 100 servers** ({fine['statements']} "
        f"in all), **{fine['pteroca_s']:.2f} s** of pteroca time (the panel's listing "
        f"{fine['listing_s']:.2f} s more); with {r['drift']} suspended behind its back: "
        f"{drift['repaired']} repaired, {drift['statements']} statements, "
        f"{drift['pteroca_s']:.2f} s with the repairs sent"
    )
    ok = r["per_100"] <= RECONCILE_PER_100 and fine["pteroca_s"] < RECONCILE_SECONDS
    return [(label, figure, goal, verdict(ok))]


MONEY_STATEMENTS = 12  # SQL statements per purchase (issue 20)
LIST_CASES = {
    "audit": "audit log",
    "audit_filtered": "audit log, one action (a tenth)",
    "email": "email log",
    "email_filtered": "email log, status failed (a fifth)",
}


def rows_lists(r: dict | None) -> list[tuple]:
    goal = f"< {LIST_PAGE_MS:g} ms"
    rows = []
    for backend, name in (("sqlite", "SQLite"), ("postgres", "PostgreSQL")):
        data = (r or {}).get(backend)
        label = f"Admin logs at 1,000,000 rows, {name}: middle page (50 rows, by cursor)"
        if not data:
            if backend == "sqlite" or (r and "error" in r):
                rows.append((label, not_measured(r), goal, NOT_MEASURED))
            continue
        label = label.replace("1,000,000", f"{data['rows']:,}")
        parts, ok = [], True
        for case, words in LIST_CASES.items():
            found = data[case]
            ok = ok and found["p50_ms"] < LIST_PAGE_MS
            parts.append(
                f"{words} **{found['p50_ms']:.0f} ms** (CPU {found['cpu_ms']:.0f} ms, SQL "
                f"{found['sql_ms']:.1f} ms; COUNT + OFFSET in SQL alone {found['offset_ms']:.0f} ms)"
            )
        figure = "; ".join(parts) + (
            f"; p50 of 15 requests through the app, load average {data['load']:g}; "
            f"{data['rows']:,} rows inserted in {data['audit_s']:.0f} + {data['email_s']:.0f} s"
        )
        rows.append((label, figure, goal, verdict(ok)))
    return rows


def rows_budget(r: dict | None) -> list[tuple]:
    label = "Request budget: reconcile of 100,000 servers, default panel limits (simulator)"
    goal = "0 answers 429"
    if not r or "throttled" not in r:
        return [(label, not_measured(r), goal, NOT_MEASURED)]
    label = label.replace("100,000", f"{r['servers']:,}")
    figure = (
        f"two full runs back to back: **{r['requests']} requests, {r['throttled']} answered "
        f"429**, paced over **{r['virtual_minutes']:.1f} virtual minutes** (budget "
        f"{r['application_per_minute']}/min, panel {r['limit']}/min), {r['wall_s']:.0f} s wall"
    )
    return [(label, figure, goal, verdict(r["throttled"] == 0))]


def rows_money(r: dict | None) -> list[tuple]:
    """One row per database: the real path against the raw-SQL loop, and the invariant."""
    goal = (
        f"real >= {(r or {}).get('goal_ratio', 0.3)} x raw; <= {MONEY_STATEMENTS} statements "
        "per purchase; balance == sum(ledger) >= 0"
    )
    databases = (r or {}).get("databases") or {}
    if not databases:
        return [("Money path", not_measured(r), goal, NOT_MEASURED)]
    rows = []
    for name, d in databases.items():
        label = f"Money path: {d.get('buyers', 16)} concurrent buyers, {name}"
        if "real" not in d:
            rows.append((label, not_measured(d), goal, NOT_MEASURED))
            continue
        real, raw = d["real"], d["raw"]
        figure = (
            f"ratio **{d['ratio']:.2f}**: **{real['rate']:.1f} purchases/s** ({real['purchases']} "
            f"in {real['seconds']:.1f} s, p50 {real['p50_ms']:.0f} ms, p99 {real['p99_ms']:.0f} ms)"
            f", raw-SQL loop {raw['rate']:.1f}/s (p50 {raw['p50_ms']:.0f} ms); "
            f"{d['statements']} SQL statements per purchase; jobs {d['queue']}"
        )
        if d.get("problems"):
            figure += "; " + "; ".join(d["problems"][:3])
        met = d["ratio"] >= r.get("goal_ratio", 0.3) and d["statements"] <= MONEY_STATEMENTS
        rows.append((label, figure, goal, FAILED if not d["invariant_ok"] else verdict(met)))
    return rows


def rows_scan(r: dict | None) -> list[tuple]:
    plugins = (r or {}).get("plugins")
    if not plugins:
        return [("Scan gate", not_measured(r), "(no goal)", NOT_MEASURED)]
    rows = []
    largest = max(plugins, key=lambda n: (plugins[n].get("source_bytes", 0), plugins[n]["files"]))
    for name, data in plugins.items():
        size = (
            f", {data['source_bytes'] / 1024:.0f} KiB of Python" if "source_bytes" in data else ""
        )
        goals = []
        if name == largest:
            goals.append((SCAN_SECONDS, "the largest builtin plugin"))
        if name in SCAN_GOALS:
            goals.append((SCAN_GOALS[name], "production code only"))
        cpu = f" (CPU {data['cold_cpu_s'] * 1000:.0f} ms)" if "cold_cpu_s" in data else ""
        figure = (
            f"cold {data['cold_s'] * 1000:.0f} ms{cpu}, cached "
            f"{data['cached_s'] * 1000:.1f} ms ({data['cold_s'] / data['cached_s']:.0f}x); "
            f"verdict {data['verdict']}"
        )
        label = f"Scan gate: `{name}` ({data['files']} files{size})"
        # one row per goal: a plugin can be both the largest and one with its own goal
        for limit, why in sorted(goals, reverse=True) or [(None, "")]:
            if limit is None:
                rows.append((label, figure, "(no goal)", INFO))
            else:
                rows.append(
                    (label, figure, f"cold < {limit:g} s ({why})", verdict(data["cold_s"] < limit))
                )
    return rows


def rows_memory(r: dict | None) -> list[tuple]:
    label = "Memory: one web worker"
    goal = f"no growth after warm-up (< {MEMORY_GROWTH_KIB} KiB)"
    if not r or "growth_kib" not in r:
        return [(label, not_measured(r), goal, NOT_MEASURED)]
    figure = (
        f"RSS after {r['warmup']:,} requests {r['warmup_kib'] / 1024:.1f} MiB, after "
        f"{r['requests']:,} {r['end_kib'] / 1024:.1f} MiB: **{r['growth_kib']:+d} KiB**; "
        f"peak {r['peak_kib'] / 1024:.1f} MiB"
    )
    return [(label, figure, goal, verdict(r["growth_kib"] < MEMORY_GROWTH_KIB))]


ROWS = [
    ("overhead", rows_overhead),
    ("hooks", rows_hooks),
    ("build", rows_build),
    ("sweep", rows_sweep),
    ("money", rows_money),
    ("webhooks", rows_webhooks),
    ("servers", rows_servers),
    ("reconcile", rows_reconcile),
    ("lists", rows_lists),
    ("budget", rows_budget),
    ("scan", rows_scan),
    ("memory", rows_memory),
]


def table(results: dict) -> list[tuple]:
    """The table's rows for the benchmarks in ``results``, in the table's order."""
    return [row for name, rows in ROWS if name in results for row in rows(results[name])]


def markdown(rows: list[tuple], info: dict, command: str, elapsed: float) -> str:
    lines = [
        f"Measured {info['date']} on {info['cores']} cores ({info['cpu']}), "
        f"{info['ram_gib']} GiB RAM, {info['os']}; Python {info['python']}, "
        f"SQLite {info['sqlite']}, PostgreSQL {info['postgresql'] or 'not used'}; "
        f"load from {info['load_tool']}.",
        "",
        f"Command: `{command}` (whole run {elapsed / 60:.1f} min).",
        "",
        "| Benchmark | Figure | Goal | Result |",
        "|---|---|---|---|",
    ]
    for label, figure, goal, status in rows:
        cell = f"**{status}**" if status in (MISSED, FAILED) else status
        lines.append(f"| {label} | {figure} | {goal} | {cell} |")
    missed = [label for label, _f, _g, status in rows if status in (MISSED, FAILED)]
    lines.append("")
    if missed:
        lines.append(
            "Missed: " + "; ".join(missed) + ". The causes found by profiling are in "
            "[Why goals are missed](#why-goals-are-missed) below."
        )
    else:
        lines.append("Every measured goal is met.")
    return "\n".join(lines) + "\n"


def plain(rows: list[tuple]) -> str:
    def strip(text: str) -> str:
        return re.sub(r"[*`]", "", str(text))

    width = max(len(strip(r[0])) for r in rows)
    out = []
    for label, figure, goal, status in rows:
        out.append(f"{strip(label):<{width}}  {status:<8}  {strip(figure)}  [goal: {strip(goal)}]")
    return "\n".join(out)


def rewrite_readme(block: str) -> None:
    text = README.read_text() if README.exists() else ""
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        _old, tail = rest.split(END, 1)
        text = f"{head}{BEGIN}\n{block}{END}{tail}"
    else:
        text = f"{text.rstrip()}\n\n## Results\n\n{BEGIN}\n{block}{END}\n"
    README.write_text(text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--postgres",
        default=os.environ.get(POSTGRES_ENV, ""),
        help=f"PostgreSQL admin URL for the money path and the sweep "
        f"(default ${POSTGRES_ENV}); a database is created and dropped",
    )
    parser.add_argument("--only", default="", help="comma-separated benchmark names")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="short runs to check that everything works (figures not comparable; "
        "the README is left alone)",
    )
    parser.add_argument("--budget", type=float, default=585.0, help="seconds for the whole run")
    parser.add_argument("--no-readme", action="store_true", help="do not rewrite bench/README.md")
    parser.add_argument("--json", action="store_true", help="print every result as JSON at the end")
    args = parser.parse_args(argv)

    if WRK is None:
        say(
            "NOTE: wrk is not installed (apt-get install wrk); the web benchmarks load the servers "
            "with bench/loadgen.py, a Python load generator in another process, instead."
        )
    if not args.postgres:
        say(
            f"NOTE: no PostgreSQL ({POSTGRES_ENV} unset, no --postgres): the money path and the "
            "PostgreSQL sweep are not measured."
        )
    chosen = {n.strip() for n in args.only.split(",") if n.strip()}
    plan = [b for b in benchmarks(args) if not chosen or b[0] in chosen]
    unknown = chosen - {b[0] for b in benchmarks(args)}
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(sorted(unknown))}")
    info = machine(args.postgres)
    started = time.monotonic()
    results: dict = {}
    for name, bench_argv, longest in plan:
        left = args.budget - (time.monotonic() - started)
        if left < 10:
            results[name] = {"error": "no time left in the run budget"}
            continue
        results[name] = run_one(name, bench_argv, min(longest, left))
    elapsed = time.monotonic() - started
    rows = table(results)
    say("\n" + plain(rows))
    say(f"\nwhole run: {elapsed:.0f} s")
    command = (
        "make bench"
        if not argv and len(sys.argv) == 1
        else "python bench/run_all.py " + " ".join(shlex.quote(a) for a in (argv or sys.argv[1:]))
    )
    if args.postgres:
        command = command.replace(args.postgres, "$" + POSTGRES_ENV)
    if not (args.no_readme or args.quick or chosen):
        rewrite_readme(markdown(rows, info, command, elapsed))
        say(f"results table rewritten in {README.relative_to(ROOT)}")
    if args.json:
        print(
            json.dumps({"machine": info, "results": results, "elapsed_s": elapsed}, sort_keys=True)
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
