"""App build and hot swap: building the app with every builtin plugin, and enable-to-served time.

    .venv/bin/python bench/bench_build.py [--builds 5] [--swaps 3] [--workers N] [--json]

Build: a throw-away instance (SQLite) gets every builtin plugin enabled (those
with dependencies are enabled accepting the "not audited" finding, as there is no
advisory service here), then ``create_app`` is timed in this process, after one
untimed build: what every process pays on each plugin change, when the hot swap
rebuilds it. A cold build (a fresh interpreter importing everything first) is
shown for reference.

Hot swap: gunicorn with N workers serves the same instance with the production
poll interval (``PTEROCA_PLUGIN_POLL_SECONDS`` unset: the default, 1 s). A new drop-in plugin
with a page is written, then ``pteroca plugin enable`` runs in another process
(a cold CLI start plus the plugin's first scan), while this process asks for the
plugin's page (and the stored plugin generation) every 20 ms. Reported per
enable, from the start of the command: when the generation was bumped (the CLI
committed), when the CLI returned, the first 200 from the page, and the start
of the first run of 20 answers in a row that were all 200 (every worker
follows); the median over the enables.
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / "fixtures"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import PYTHON, ROOT, Gunicorn, emit, http_get, quiet_logs, say, workers_default  # noqa: E402

PAGE_PLUGIN = '''
"""Bench plugin {name}: one page at /plugins/{name}/."""

from flask import Blueprint

from kernel import hookimpl

bp = Blueprint("{name}", __name__)


@bp.get("/")
def index():
    return "hello from {name}"


@hookimpl
def register_blueprints(app):
    return [bp]
'''

COLD_BUILD = textwrap.dedent("""
    import time
    started = time.perf_counter()
    from kernel.app import create_app
    app = create_app()
    print(time.perf_counter() - started, len(app.extensions["pteroca"].loaded))
""")


def write_page_plugin(plugins_dir: Path, name: str) -> None:
    folder = plugins_dir / name
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "plugin.toml").write_text(
        f'name = "{name}"\nversion = "1.0.0"\nkernel = ">=0.1"\n'
        f'description = "bench hot swap page"\ncapabilities = ["routes"]\n'
    )
    (folder / "__init__.py").write_text(PAGE_PLUGIN.format(name=name))


def enable_builtins(app) -> tuple[list[str], dict[str, str]]:
    """Enable every plugin of the pteroca distribution; (enabled, {name: why not})."""
    from kernel.plugin_lifecycle.services import enable, enabled_names, user_errors
    from kernel.plugins.discovery import discover_entry_points

    builtins = sorted(p.name for p in discover_entry_points() if p.distribution == "pteroca")
    failed = {}
    with app.app_context():
        for name in builtins:
            if name in enabled_names():
                continue
            try:
                enable(name, with_dependencies=True, accept_risk=True, actor="bench")
            except user_errors() as exc:
                failed[name] = str(exc)
        return sorted(enabled_names()), failed


def measure_build(app, builds: int) -> dict:
    from kernel.testing import rebuild

    first = rebuild(app)  # untimed: imports every plugin module once
    loaded = sorted(first.extensions["pteroca"].loaded)
    times = []
    for _ in range(builds):
        started = time.perf_counter()
        built = rebuild(app)
        times.append(time.perf_counter() - started)
        if sorted(built.extensions["pteroca"].loaded) != loaded:
            raise RuntimeError("a rebuild loaded other plugins than the first build")
    return {
        "median_s": statistics.median(times),
        "min_s": min(times),
        "loaded": loaded,
        "problems": first.extensions["pteroca"].problems,
    }


def measure_cold(env: dict) -> float:
    out = subprocess.run(
        [PYTHON, "-c", COLD_BUILD], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    if out.returncode != 0:
        raise RuntimeError(f"cold build failed: {out.stderr[-2000:]}")
    return float(out.stdout.split()[0])


def generation(database: Path) -> int:
    """The stored plugin generation, read the way any other process would (SQLite, WAL)."""
    conn = sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=5)
    try:
        row = conn.execute("SELECT value FROM kernel_state WHERE key = 'plugin_generation'")
        row = row.fetchone()
        return row[0] if row else 0
    finally:
        conn.close()


def measure_swap(
    server: Gunicorn, env: dict, instance: Path, name: str, timeout: float = 30.0
) -> dict:
    write_page_plugin(instance / "plugins", name)
    url = f"{server.url}/plugins/{name}/"
    if http_get(url)[0] != 404:
        raise RuntimeError(f"{url} answers before the plugin is enabled")
    database = instance / "pteroca.db"
    before = generation(database)
    started = time.monotonic()
    cli = subprocess.Popen(
        [PYTHON, "-m", "kernel", "plugin", "enable", name],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    first = cli_done = bumped = streak_start = None
    streak = 0
    while time.monotonic() - started < timeout:
        now = time.monotonic() - started
        if bumped is None and generation(database) != before:
            bumped = now
        if cli_done is None and cli.poll() is not None:
            cli_done = now
            if cli.returncode != 0:
                raise RuntimeError(f"pteroca plugin enable {name} failed: {cli.stdout.read()}")
        status, _ = http_get(url, timeout=5)
        if status == 200:
            first = now if first is None else first
            streak_start = now if streak == 0 else streak_start
            streak += 1
            if streak >= 20 and cli_done is not None:
                bumped = first if bumped is None else bumped
                return {
                    "cli_s": cli_done,
                    "bump_s": bumped,
                    "first_200_s": first,
                    "bump_to_200_s": first - bumped,
                    "all_workers_s": streak_start,
                }
        else:
            streak = 0
        time.sleep(0.02)
    cli.kill()
    raise RuntimeError(f"{url} not served {timeout:.0f}s after enabling (first 200 at {first})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--builds", type=int, default=5)
    parser.add_argument("--swaps", type=int, default=3)
    parser.add_argument("--workers", type=int, default=workers_default())
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    quiet_logs()
    from benchsite import config, server_env

    from kernel.testing import build_app

    result: dict = {}
    with tempfile.TemporaryDirectory(prefix="pteroca-bench-") as tmp:
        instance = Path(tmp) / "instance"
        app = build_app(instance, **config(instance))
        enabled, failed = enable_builtins(app)
        for name, why in failed.items():
            say(f"could not enable {name}: {why}")
        build = measure_build(app, args.builds)
        env = server_env(instance)
        build["cold_s"] = measure_cold(env)
        build["enable_failed"] = failed
        result["build"] = build
        say(
            f"app build with {', '.join(build['loaded'])}: {build['median_s'] * 1000:.0f} ms "
            f"(min {build['min_s'] * 1000:.0f} ms); cold process {build['cold_s']:.2f} s"
        )

        swaps = []
        with Gunicorn("kernel.wsgi:application", env, args.workers, name="pteroca") as server:
            for index in range(args.swaps):
                swap = measure_swap(server, env, instance, f"bench_swap{index + 1}")
                swaps.append(swap)
                say(
                    f"enable #{index + 1}: generation bumped at {swap['bump_s']:.2f} s, CLI done "
                    f"{swap['cli_s']:.2f} s, first 200 at {swap['first_200_s']:.2f} s "
                    f"({swap['bump_to_200_s']:.2f} s after the bump), every worker by "
                    f"{swap['all_workers_s']:.2f} s"
                )
        result["hot_swap"] = {
            key: statistics.median(s[key] for s in swaps)
            for key in ("cli_s", "bump_s", "first_200_s", "bump_to_200_s", "all_workers_s")
        }
        result["hot_swap"]["runs"] = swaps
        result["hot_swap"]["workers"] = args.workers
        from kernel.config import DEFAULTS

        result["hot_swap"]["poll_seconds"] = DEFAULTS["PLUGIN_POLL_SECONDS"][0]
    emit(result, args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
