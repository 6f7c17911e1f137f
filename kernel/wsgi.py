"""WSGI entry point that follows the cluster-wide plugin generation (hot swap).

Flask cannot add or remove routes on a running app, so when the generation
stored in the database changes we build a whole new app and swap it in.
Requests already running finish on the app they started on.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from flask import Flask

from kernel import generation
from kernel.app import create_app
from kernel.extensions import database_ready, db, reading
from kernel.plugins.host import plugin_host


def app_factory(first: Flask) -> Callable[[], Flask]:
    """A factory returning ``first`` once, then new apps built from the same configuration."""
    build_config = first.config.get("PTEROCA_BUILD_CONFIG")  # set by kernel.testing
    pending = [first]

    def factory() -> Flask:
        if pending:
            return pending.pop()
        return create_app(dict(build_config)) if build_config else create_app()

    return factory


class HotSwapApplication:
    def __init__(
        self, factory: Callable[[], Flask] | None = None, poll_seconds: float | None = None
    ):
        self._factory = factory or create_app
        self._lock = threading.Lock()
        self.app = self._factory()
        self.generation = plugin_host(self.app).generation
        self.poll_seconds = (
            self.app.config["PLUGIN_POLL_SECONDS"] if poll_seconds is None else poll_seconds
        )
        self._checked = time.monotonic()
        self.swaps = 0

    def stored_generation(self) -> int:
        """The generation in the database: one primary-key read, in a deferred (SQLite)
        transaction so the poll never waits for, nor holds up, a writer."""
        with self.app.app_context(), reading():
            try:
                return generation.read_generation() if database_ready() else self.generation
            finally:
                db.session.remove()

    def maybe_swap(self) -> bool:
        """Rebuild the app if the generation moved; True when a swap happened."""
        local = generation.take_local_change()
        if not local and time.monotonic() - self._checked < self.poll_seconds:
            return False
        with self._lock:
            self._checked = time.monotonic()
            if not local and self.stored_generation() == self.generation:
                return False
            new_app = self._factory()
            self.app, self.generation = new_app, plugin_host(new_app).generation
            self.swaps += 1
            new_app.logger.info("plugin generation %s: app rebuilt", self.generation)
            return True

    def __call__(self, environ, start_response):
        try:
            self.maybe_swap()
        except Exception:  # noqa: BLE001 - keep serving the current app if a rebuild fails
            self.app.logger.exception(
                "hot swap failed; still serving generation %s", self.generation
            )
        app = self.app
        return app(environ, start_response)


_application: HotSwapApplication | None = None


def __getattr__(name: str):
    # Built on first use so importing this module has no side effects.
    global _application
    if name == "application":
        if _application is None:
            _application = HotSwapApplication()
        return _application
    raise AttributeError(name)
