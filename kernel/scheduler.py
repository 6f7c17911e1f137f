"""``pteroca scheduler``: run cron tasks on time, on any number of machines at once.

Each loop (at every minute boundary, and every ``interval`` seconds in between)
the scheduler:

1. follows the plugin generation (a plugin enabled a second ago brings its cron
   tasks; a disabled one takes them away), like the web processes and workers;
2. records its heartbeat (``scheduler_heartbeat``, shown by ``/-/health``);
3. dispatches outbox rows whose writer died (:mod:`kernel.outbox`), so a job left
   behind waits one pass, not a minute;
4. runs the tasks whose current slot nobody has claimed, and re-runs slots whose
   runner died (expired leases): see :mod:`kernel.cron`.

Several schedulers share the work through the leases in the database; a task
runs once per slot whichever scheduler gets it. SIGTERM or SIGINT stops the
loop after the task running at that moment finishes.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from datetime import datetime

from flask import Flask
from sqlalchemy.exc import SQLAlchemyError

from kernel.extensions import db

log = logging.getLogger("pteroca.scheduler")

DEFAULT_INTERVAL = 10.0


def seconds_to_next_minute(now: float | None = None) -> float:
    now = time.time() if now is None else now
    return 60.0 - (now % 60.0)


class Scheduler:
    def __init__(self, app: Flask, *, interval: float = DEFAULT_INTERVAL, echo=None):
        from kernel import cron
        from kernel.wsgi import HotSwapApplication, app_factory

        if interval <= 0:
            raise ValueError("the scheduler interval must be a positive number of seconds")
        self.hotswap = HotSwapApplication(app_factory(app), poll_seconds=0)
        self.interval = interval
        self.node = cron.node_name()
        self.stop_event = threading.Event()
        self.echo = echo or (lambda line: log.info("%s", line))
        self.ticks = 0

    @property
    def app(self) -> Flask:
        return self.hotswap.app

    def tick(self, now: datetime | None = None) -> list:
        """One pass: follow the plugin set, beat, run what is due. Returns the finished runs."""
        from kernel import cron

        try:
            if self.hotswap.maybe_swap():
                self.echo(f"plugin generation {self.hotswap.generation}: cron tasks reloaded")
        except Exception as exc:  # noqa: BLE001 - keep scheduling with the current plugin set
            self.echo(
                f"could not rebuild the app ({type(exc).__name__}: {exc}); "
                f"still on plugin generation {self.hotswap.generation}"
            )
        self.ticks += 1
        with self.app.app_context():
            try:
                cron.beat(self.node)
                self.dispatch_outbox()
                runs = cron.run_due(now=now, owner=self.node, node=self.node)
                for run in runs:
                    attempt = f" (attempt {run.attempts})" if run.attempts > 1 else ""
                    self.echo(
                        f"{run.task} [{run.slot:%Y-%m-%d %H:%M}]: {run.status}{attempt}"
                        f"{' - ' + run.error if run.error else ''}"
                    )
                return runs
            except SQLAlchemyError as exc:
                # The database is away (restart, failover): say so and try again next loop.
                db.session.rollback()
                self.echo(
                    f"database unavailable ({type(exc).__name__}); retrying in {self.interval:g}s"
                )
                return []
            finally:
                db.session.remove()

    def dispatch_outbox(self) -> None:
        from kernel import outbox

        try:
            report = outbox.dispatch_due()
        except SQLAlchemyError:
            raise
        except Exception as exc:  # noqa: BLE001 - never stop the cron tasks for it
            db.session.rollback()
            self.echo(f"dispatching the outbox failed: {type(exc).__name__}: {exc}")
            return
        if report.dispatched or report.failed:
            self.echo(f"outbox: {len(report.dispatched)} dispatched, {len(report.failed)} failed")

    def wait(self) -> None:
        """Sleep until the next minute boundary or ``interval``, whichever comes first."""
        delay = min(self.interval, seconds_to_next_minute() + 0.05)
        self.stop_event.wait(delay)

    def stop(self, *_args) -> None:
        if self.stop_event.is_set() and _args:
            raise KeyboardInterrupt  # a second signal: stop now, mid-task (its lease will expire)
        self.stop_event.set()

    def run(self, *, once: bool = False) -> None:
        self.echo(
            f"scheduler {self.node} started (interval {self.interval:g}s, "
            f"plugin generation {self.hotswap.generation})"
        )
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, self.stop)
            signal.signal(signal.SIGINT, self.stop)
        while not self.stop_event.is_set():
            self.tick()
            if once:
                break
            self.wait()
        self.echo(f"scheduler {self.node} stopped")
