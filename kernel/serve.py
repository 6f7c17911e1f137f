"""``pteroca serve``: a gunicorn master serving ``kernel.wsgi:application``.

gunicorn is configured here in code (a ``BaseApplication``), so ``pteroca serve``
*is* the gunicorn master: systemd supervises it directly, ``SIGHUP`` reloads it
gracefully (new workers start, old ones finish their requests), ``SIGTERM``
stops it gracefully. Each worker builds its own app (no preloading: database
connections are never shared across ``fork``) and follows the plugin generation
through the hot swap.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from gunicorn.app.base import BaseApplication

MAX_DEFAULT_WORKERS = 8
ACCESS_LOG_FORMAT = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms "%(f)s" "%(a)s"'


def cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def default_workers(cores: int | None = None) -> int:
    """2 x cores + 1, at most :data:`MAX_DEFAULT_WORKERS` (each worker holds a whole app)."""
    cores = cpu_count() if cores is None else cores
    return max(1, min(2 * cores + 1, MAX_DEFAULT_WORKERS))


@dataclass
class ServeOptions:
    bind: list[str] = field(default_factory=lambda: ["127.0.0.1:8000"])
    workers: int | None = None  # None: default_workers()
    threads: int = 1
    timeout: int = 60
    graceful_timeout: int = 30
    keepalive: int = 5
    max_requests: int = 1000
    access_log: str = "-"  # "-": stdout; "off": none; else a file path
    error_log: str = "-"
    log_level: str = "info"
    proxy_hops: int = 0  # trusted reverse proxies in front (nginx: 1)
    pidfile: str | None = None

    def gunicorn_settings(self) -> dict:
        if self.workers is not None and self.workers < 1:
            raise ValueError("--workers must be at least 1")
        if self.threads < 1:
            raise ValueError("--threads must be at least 1")
        if self.proxy_hops < 0:
            raise ValueError("--proxy-hops cannot be negative")
        settings = {
            "bind": list(self.bind),
            "workers": self.workers or default_workers(),
            "threads": self.threads,
            "worker_class": "gthread" if self.threads > 1 else "sync",
            "timeout": self.timeout,
            "graceful_timeout": self.graceful_timeout,
            "keepalive": self.keepalive,
            "max_requests": self.max_requests,
            "max_requests_jitter": max(self.max_requests // 10, 0),
            "accesslog": None if self.access_log == "off" else self.access_log,
            "access_log_format": ACCESS_LOG_FORMAT,
            "errorlog": self.error_log,
            "loglevel": self.log_level,
            "proc_name": "pteroca",
            "preload_app": False,
            "pidfile": self.pidfile,
            # gunicorn >= 24 opens a control socket at one per-user path: two servers on a
            # machine would fight over it, and signals (systemd) do the same job.
            "control_socket_disable": True,
        }
        if os.path.isdir("/dev/shm"):
            settings["worker_tmp_dir"] = "/dev/shm"  # worker heartbeats off the (maybe slow) disk
        return settings


def wsgi_app(proxy_hops: int = 0):
    """The hot-swapping pteroca app, behind ProxyFix when reverse proxies are trusted."""
    import kernel.wsgi

    app = kernel.wsgi.application
    if proxy_hops:
        from werkzeug.middleware.proxy_fix import ProxyFix

        # The client's address and scheme come from the proxies' X-Forwarded-For/-Proto: rate
        # limits and the audit log then see real clients, not the proxy.
        app = ProxyFix(app, x_for=proxy_hops, x_proto=proxy_hops)
    return app


class PterocaServer(BaseApplication):
    def __init__(self, options: ServeOptions):
        self.options = options
        self.settings = options.gunicorn_settings()
        super().__init__()

    def load_config(self):  # called at start and again on SIGHUP
        for key, value in self.settings.items():
            if value is not None and key in self.cfg.settings:
                self.cfg.set(key, value)

    def load(self):  # called in each worker
        return wsgi_app(self.options.proxy_hops)


def serve(options: ServeOptions) -> None:
    PterocaServer(options).run()
